//! Planning an append without the database: the core's append flow runs
//! over what was read before ([`Prefetched`]) and turns each admitted
//! event into rows of the one insert statement ([`Plan`]). Pure, so it is
//! tested without PostgreSQL.

use std::collections::{BTreeMap, HashMap, HashSet};

use eventdag::backend::{
    sequence_conflict, AppendTxn, Lookups, ParentView, Prepared, StoredRecord,
};
use eventdag::{ChainState, DagPosition, ErrorEffect, EventId, TenantId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::codec::{db_u32, db_u64, model_u64, EventRow};
use crate::notify::{AppendedEvent, PgChange, MAX_NOTIFIED_EVENTS};

/// What the append read before running the flow: the events the batch
/// names, and — after the tenant locks — the lanes and chains it asks
/// about and each tenant's last event cursor.
#[derive(Debug, Default)]
pub(crate) struct Prefetched {
    pub(crate) named: HashMap<EventId, EventRow>,
    pub(crate) lookups: Lookups,
    pub(crate) lanes: HashMap<(TenantId, u32), u32>,
    pub(crate) chains: HashMap<(TenantId, EventId), ChainState>,
    pub(crate) last_cursor: HashMap<TenantId, i64>,
}

/// The insert statement's columns, one vector per column.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub(crate) tenant: Vec<Uuid>,
    pub(crate) id: Vec<Uuid>,
    pub(crate) correlation: Vec<Uuid>,
    pub(crate) ts: Vec<i64>,
    pub(crate) depth: Vec<i64>,
    pub(crate) lane: Vec<i64>,
    pub(crate) sequence: Vec<i64>,
    pub(crate) size: Vec<i64>,
    pub(crate) kind: Vec<i32>,
    pub(crate) flags: Vec<i16>,
    pub(crate) parents: Vec<String>,
    pub(crate) payload: Vec<String>,
    pub(crate) hash: Vec<Vec<u8>>,
    pub(crate) cursor: Vec<i64>,
}

/// What to write once the flow admitted the batch.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) columns: Columns,
    pub(crate) lane_tenants: Vec<Uuid>,
    pub(crate) lane_numbers: Vec<i64>,
    pub(crate) lane_next: Vec<i64>,
    pub(crate) log_tenants: Vec<Uuid>,
    pub(crate) log_last: Vec<i64>,
    /// The first event inserted, for the error a violated lane constraint
    /// reports.
    pub(crate) first: Option<(EventId, DagPosition)>,
    /// NOTIFY payloads, sent after the commit.
    pub(crate) notifications: Vec<String>,
}

impl Plan {
    /// The conflict a violated (tenant, lane, sequence) constraint means.
    pub(crate) fn first_conflict(&self) -> ErrorEffect {
        self.first.map_or_else(
            || ErrorEffect::unavailable("append", "sequence uniqueness violated"),
            |(id, position)| sequence_conflict(id, position, position.sequence.saturating_add(1)),
        )
    }
}

impl Columns {
    /// Keeps the first `rows` rows.
    fn truncate(&mut self, rows: usize) {
        self.tenant.truncate(rows);
        self.id.truncate(rows);
        self.correlation.truncate(rows);
        self.ts.truncate(rows);
        self.depth.truncate(rows);
        self.lane.truncate(rows);
        self.sequence.truncate(rows);
        self.size.truncate(rows);
        self.kind.truncate(rows);
        self.flags.truncate(rows);
        self.parents.truncate(rows);
        self.payload.truncate(rows);
        self.hash.truncate(rows);
        self.cursor.truncate(rows);
    }
}

/// The planner's state before one append of a group, to return to when
/// the flow refuses or holds that append (its neighbours still commit).
pub(crate) struct Checkpoint {
    rows: usize,
    first: Option<(EventId, DagPosition)>,
    next_free: BTreeMap<(TenantId, u32), u32>,
    last_cursor: HashMap<TenantId, i64>,
    appended: Vec<(TenantId, usize)>,
}

/// The flow's primitives over [`Prefetched`], collecting the [`Plan`].
pub(crate) struct Planner<P> {
    read: Prefetched,
    asked_lanes: HashSet<(TenantId, u32)>,
    asked_chains: HashSet<(TenantId, EventId)>,
    plan: Plan,
    next_free: BTreeMap<(TenantId, u32), u32>,
    appended: BTreeMap<TenantId, Vec<AppendedEvent>>,
    payload: std::marker::PhantomData<fn() -> P>,
}

/// A lookup the prefetch did not make: the planning and the prefetch
/// disagree, which is a bug, reported rather than answered with a guess.
fn not_prefetched(what: impl std::fmt::Display) -> ErrorEffect {
    ErrorEffect::unavailable(
        "append",
        format!("the append asked for {what}, which was not read before it (a bug in the store)"),
    )
}

impl<P> Planner<P> {
    pub(crate) fn new(read: Prefetched) -> Self {
        Self {
            asked_lanes: read.lookups.lanes.iter().copied().collect(),
            asked_chains: read.lookups.chains.iter().copied().collect(),
            read,
            plan: Plan::default(),
            next_free: BTreeMap::new(),
            appended: BTreeMap::new(),
            payload: std::marker::PhantomData,
        }
    }

    /// Where the plan stands, to [`Planner::rollback`] to.
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            rows: self.plan.columns.id.len(),
            first: self.plan.first,
            next_free: self.next_free.clone(),
            last_cursor: self.read.last_cursor.clone(),
            appended: self
                .appended
                .iter()
                .map(|(tenant, events)| (*tenant, events.len()))
                .collect(),
        }
    }

    /// Forgets every row planned since `mark`.
    pub(crate) fn rollback(&mut self, mark: Checkpoint) {
        self.plan.columns.truncate(mark.rows);
        self.plan.first = mark.first;
        self.next_free = mark.next_free;
        self.read.last_cursor = mark.last_cursor;
        let kept: HashMap<TenantId, usize> = mark.appended.into_iter().collect();
        self.appended
            .retain(|tenant, events| match kept.get(tenant) {
                Some(len) => {
                    events.truncate(*len);
                    true
                }
                None => false,
            });
    }

    /// The first event planned since `mark`, if any.
    pub(crate) fn first_since(&self, mark: &Checkpoint) -> Option<EventId> {
        self.plan.columns.id.get(mark.rows).copied()
    }

    /// The plan, with lane counters, log cursors and notifications.
    pub(crate) fn finish(mut self) -> Result<Plan, ErrorEffect> {
        for ((tenant, lane), next) in &self.next_free {
            self.plan.lane_tenants.push(*tenant);
            self.plan.lane_numbers.push(db_u32(*lane));
            self.plan.lane_next.push(db_u32(*next));
        }
        for (tenant, events) in self.appended {
            let last = self.read.last_cursor.get(&tenant).copied().unwrap_or(0);
            let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
            self.plan.log_tenants.push(tenant);
            self.plan.log_last.push(last);
            let truncated = events.len() > MAX_NOTIFIED_EVENTS;
            let change = PgChange::Appended {
                tenant_id: tenant,
                first_cursor: model_u64(None, "cursor", last - count + 1)?,
                last_cursor: model_u64(None, "cursor", last)?,
                events: events.into_iter().take(MAX_NOTIFIED_EVENTS).collect(),
                truncated,
            };
            self.plan.notifications.push(change.payload());
        }
        Ok(self.plan)
    }
}

/// The validation view of a stored row.
fn view_of(row: &EventRow) -> Result<ParentView, ErrorEffect> {
    let record_error = |what: &str| ErrorEffect::corrupt(Some(row.event_id), what.to_owned());
    let depth =
        u32::try_from(row.depth).map_err(|_| record_error("stored depth is out of range"))?;
    let lane = u32::try_from(row.lane).map_err(|_| record_error("stored lane is out of range"))?;
    let hash: [u8; 32] = row
        .hash
        .as_slice()
        .try_into()
        .map_err(|_| record_error("stored hash is not 32 bytes"))?;
    Ok(ParentView {
        id: row.event_id,
        tenant_id: row.tenant_id,
        depth,
        lane,
        correlation_id: row.correlation_id,
        hash: eventdag::EventHash(hash),
    })
}

/// The validation views of the named rows (a row that does not convert
/// is left out; the flow then reports it when it reads the row).
pub(crate) fn parent_views(named: &HashMap<EventId, EventRow>) -> HashMap<EventId, ParentView> {
    named
        .iter()
        .filter_map(|(id, row)| view_of(row).ok().map(|view| (*id, view)))
        .collect()
}

/// `{id,id}`: a uuid[] literal.
fn uuid_array_literal(ids: &[EventId]) -> String {
    let inner: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

impl<P: Serialize + DeserializeOwned> AppendTxn<P> for Planner<P> {
    type Error = ErrorEffect;

    fn stored(&mut self, id: EventId) -> Result<Option<StoredRecord>, ErrorEffect> {
        self.read
            .named
            .get(&id)
            .map(|row| row.clone().into_record::<P>())
            .transpose()
    }

    fn parent(&mut self, id: EventId) -> Result<Option<ParentView>, ErrorEffect> {
        self.read.named.get(&id).map(view_of).transpose()
    }

    fn chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, ErrorEffect> {
        let key = (tenant_id, correlation_id);
        if !self.asked_chains.contains(&key) {
            return Err(not_prefetched(format_args!("chain {correlation_id}")));
        }
        Ok(self.read.chains.get(&key).cloned().unwrap_or_default())
    }

    fn next_sequence(&mut self, tenant_id: TenantId, lane: u32) -> Result<u32, ErrorEffect> {
        let key = (tenant_id, lane);
        if !self.asked_lanes.contains(&key) {
            return Err(not_prefetched(format_args!(
                "lane {lane} of tenant {tenant_id}"
            )));
        }
        // An earlier append of the same group may have advanced the lane.
        let next = self
            .next_free
            .get(&key)
            .or_else(|| self.read.lanes.get(&key));
        Ok(next.copied().unwrap_or(0))
    }

    fn insert(&mut self, prepared: &Prepared<P>) -> Result<(), ErrorEffect> {
        let header = &prepared.event.header;
        let id = header.event_id;
        let tenant = prepared.event.tenant_id;
        let payload = String::from_utf8(prepared.payload_bytes.clone()).map_err(|_| {
            ErrorEffect::invalid(
                "payload",
                format!("payload of event {id} is not UTF-8 JSON"),
            )
        })?;
        let last = self.read.last_cursor.entry(tenant).or_insert(0);
        *last += 1;
        let columns = &mut self.plan.columns;
        columns.tenant.push(tenant);
        columns.id.push(id);
        columns.correlation.push(header.correlation_id);
        columns.ts.push(db_u64("timestamp", header.timestamp)?);
        columns.depth.push(db_u32(header.position.depth));
        columns.lane.push(db_u32(header.position.lane));
        columns.sequence.push(db_u32(header.position.sequence));
        columns.size.push(db_u32(header.payload_size));
        columns.kind.push(i32::from(header.event_kind.0));
        columns.flags.push(i16::from(header.flags.bits()));
        columns
            .parents
            .push(uuid_array_literal(&prepared.event.parents));
        columns.payload.push(payload);
        columns.hash.push(prepared.event.hash.0.to_vec());
        columns.cursor.push(*last);
        self.plan.first.get_or_insert((id, header.position));
        self.next_free.insert(
            (tenant, header.position.lane),
            header.position.sequence.saturating_add(1),
        );
        self.appended
            .entry(tenant)
            .or_default()
            .push(AppendedEvent {
                id,
                kind: header.event_kind,
            });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use eventdag::backend::{append_all, Admission, AppendLimits, PreparedBatch};
    use eventdag::{now_micros, NewEvent, DEFAULT_TENANT};
    use serde_json::{json, Value};

    use super::*;

    fn prefetched_for(batch: &PreparedBatch<Value>, named: Vec<EventRow>) -> Prefetched {
        let named: HashMap<EventId, EventRow> =
            named.into_iter().map(|row| (row.event_id, row)).collect();
        let views = parent_views(&named);
        Prefetched {
            lookups: batch.lookups(|id| views.get(id).copied()),
            named,
            ..Prefetched::default()
        }
    }

    /// A batch of a root and its child on an empty database: one row
    /// each, consecutive sequences and cursors, one lane counter, one log
    /// cursor and one notification — planned without a database.
    #[test]
    fn plans_a_root_and_its_child() {
        let root = Uuid::now_v7();
        let drafts = vec![
            NewEvent::new(json!({"n": 1})).id(root),
            NewEvent::new(json!({"n": 2})).parents([root]),
        ];
        let now = now_micros();
        let mut batch = PreparedBatch::new(drafts, AppendLimits::default(), now).unwrap();
        let mut planner = Planner::new(prefetched_for(&batch, Vec::new()));
        assert_eq!(
            append_all(&mut planner, &mut batch, now).unwrap(),
            Admission::Admitted
        );
        let plan = planner.finish().unwrap();
        assert_eq!(plan.columns.id.len(), 2);
        assert_eq!(plan.columns.depth, vec![0, 1]);
        assert_eq!(plan.columns.sequence, vec![0, 1]);
        assert_eq!(plan.columns.cursor, vec![1, 2]);
        assert_eq!(plan.columns.correlation, vec![root, root]);
        assert_eq!(plan.lane_tenants, vec![DEFAULT_TENANT]);
        assert_eq!(plan.lane_next, vec![2]);
        assert_eq!(plan.log_last, vec![2]);
        assert_eq!(plan.notifications.len(), 1);
    }

    /// Three appends planned as one group: the second, refused halfway
    /// (its second event names a parent that does not exist), is rolled
    /// back whole, and the third takes the sequence and cursor the second
    /// gave up — the plan holds the first and the third only.
    #[test]
    fn a_refused_append_of_a_group_leaves_no_trace() {
        let now = now_micros();
        let prepare = |drafts| PreparedBatch::new(drafts, AppendLimits::default(), now).unwrap();
        let mut first = prepare(vec![NewEvent::new(json!(1))]);
        let mut second = prepare(vec![
            NewEvent::new(json!(2)),
            NewEvent::new(json!(3)).parents([Uuid::now_v7()]),
        ]);
        let mut third = prepare(vec![NewEvent::new(json!(4))]);
        let mut read = prefetched_for(&first, Vec::new());
        for batch in [&second, &third] {
            let asked = batch.lookups(|_| None);
            read.lookups.lanes.extend(asked.lanes);
            read.lookups.chains.extend(asked.chains);
        }
        let mut planner = Planner::new(read);
        let plan_one = |planner: &mut Planner<Value>, batch: &mut PreparedBatch<Value>| {
            let mark = planner.checkpoint();
            let result = append_all(planner, batch, now);
            if !matches!(result, Ok(Admission::Admitted)) {
                planner.rollback(mark);
            }
            result
        };
        assert_eq!(
            plan_one(&mut planner, &mut first).unwrap(),
            Admission::Admitted
        );
        assert!(plan_one(&mut planner, &mut second).is_err());
        assert_eq!(
            plan_one(&mut planner, &mut third).unwrap(),
            Admission::Admitted
        );
        let plan = planner.finish().unwrap();
        let first_id = first.valid().next().unwrap().id();
        let third_id = third.valid().next().unwrap().id();
        assert_eq!(plan.columns.id, vec![first_id, third_id]);
        assert_eq!(plan.columns.sequence, vec![0, 1]);
        assert_eq!(plan.columns.cursor, vec![1, 2]);
        assert_eq!(plan.lane_next, vec![2]);
        assert_eq!(plan.log_last, vec![2]);
    }

    /// A lane the prefetch did not read is an error, never a guess of 0.
    #[test]
    fn a_lookup_not_prefetched_is_refused() {
        let now = now_micros();
        let mut batch = PreparedBatch::new(
            vec![NewEvent::new(json!(1)).lane(3)],
            AppendLimits::default(),
            now,
        )
        .unwrap();
        let mut planner: Planner<Value> = Planner::new(Prefetched::default());
        assert!(matches!(
            append_all(&mut planner, &mut batch, now),
            Err(ErrorEffect::StorageUnavailable { .. })
        ));
    }
}
