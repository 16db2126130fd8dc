//! Append and batch append: one transaction, running the shared rules of
//! `eventdag::append_rules` in the same order as `MemoryDag`, with every
//! insert of the batch in one statement (arrays through `UNNEST`).
//!
//! Round trips: BEGIN, read the events and parents named, lock the
//! tenants' log rows, read lanes and chain states, insert everything,
//! COMMIT — the same six for one event or ten thousand — then NOTIFY after
//! the commit.

use std::collections::{BTreeSet, HashMap};

use eventdag::append_rules::{
    check_batch_size, check_chain, check_parents, check_sequence, compare_with_stored, prepare,
    prepare_assigned, seal, ChainAdmission, ParentView, PreparedAppend,
};
use eventdag::{now_micros, sequence_conflict, ChainState, ErrorEffect, Event, EventId, TenantId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::codec::{db_u32, db_u64, model_u64, EventRow};
use crate::notify::{AppendedEvent, PgChange, MAX_NOTIFIED_EVENTS};
use crate::sql_error::{constraint, violated_unique};
use crate::PgDag;

/// What an append did.
pub(crate) enum Appended<P> {
    /// Every event is stored (now or before).
    Stored(Committed<P>),
    /// A chain is under backpressure; nothing was stored.
    Retry(ChainAdmission),
}

/// What [`PgDag::append_committed`] stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed<P> {
    /// The ids of all events of the call, in order (re-appends included).
    pub ids: Vec<EventId>,
    /// The events this call inserted, in order, exactly as stored: ids,
    /// positions, correlation ids, timestamps and hashes filled in.
    /// Re-appended events (already stored) are not among them.
    pub inserted: Vec<Event<P>>,
}

/// Why one attempt failed.
enum Failure {
    /// A domain or operational error: returned.
    Error(ErrorEffect),
    /// Another transaction inserted one of the ids first: try again (the
    /// retry finds the stored event and compares it).
    IdRaced,
}

impl From<ErrorEffect> for Failure {
    fn from(error: ErrorEffect) -> Self {
        Self::Error(error)
    }
}

/// How often an append is retried after losing a race on an event id.
const ID_RACE_ATTEMPTS: usize = 3;

const LOCK_TENANTS: &str = "\
INSERT INTO eventdag_tenant_logs (tenant_id) \
SELECT t FROM unnest($1::uuid[]) AS x(t) ORDER BY t \
ON CONFLICT (tenant_id) DO UPDATE SET last_event_cursor = eventdag_tenant_logs.last_event_cursor \
RETURNING tenant_id, last_event_cursor";

const READ_NAMED: &str = "\
SELECT e.tenant_id, e.event_id, e.correlation_id, e.ts, e.depth, e.lane, e.sequence, \
       e.payload_size, e.kind, e.flags, e.parents, \
       CASE WHEN e.event_id = ANY($2) THEN e.payload::text ELSE '' END AS payload, \
       e.hash, e.log_cursor \
FROM eventdag_event_ids i \
JOIN eventdag_events e ON e.tenant_id = i.tenant_id AND e.event_id = i.event_id \
WHERE i.event_id = ANY($1)";

const READ_LANES_AND_CHAINS: &str = "\
SELECT l.tenant_id, NULL::uuid AS correlation_id, l.lane, l.next_sequence, \
       NULL::text AS cancelled, NULL::bigint AS until \
FROM eventdag_lanes l JOIN unnest($1::uuid[], $2::int8[]) AS x(t, n) \
  ON l.tenant_id = x.t AND l.lane = x.n \
UNION ALL \
SELECT c.tenant_id, c.correlation_id, NULL, NULL, c.cancelled, c.backpressure_until \
FROM eventdag_chains c JOIN unnest($3::uuid[], $4::uuid[]) AS y(t, c) \
  ON c.tenant_id = y.t AND c.correlation_id = y.c";

const INSERT: &str = "\
WITH ev AS ( \
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::int8[], $6::int8[], \
                       $7::int8[], $8::int8[], $9::int4[], $10::int2[], $11::text[], $12::text[], \
                       $13::bytea[], $14::int8[]) \
    AS t(tenant_id, event_id, correlation_id, ts, depth, lane, sequence, payload_size, kind, \
         flags, parents, payload, hash, log_cursor) \
), ids AS ( \
  INSERT INTO eventdag_event_ids (event_id, tenant_id) SELECT event_id, tenant_id FROM ev \
), events AS ( \
  INSERT INTO eventdag_events (tenant_id, event_id, correlation_id, ts, depth, lane, sequence, \
                               payload_size, kind, flags, parents, payload, hash, log_cursor) \
  SELECT tenant_id, event_id, correlation_id, ts, depth, lane, sequence, payload_size, kind, \
         flags, parents::uuid[], payload::jsonb, hash, log_cursor FROM ev \
), edges AS ( \
  INSERT INTO eventdag_edges (tenant_id, parent_id, child_id) \
  SELECT ev.tenant_id, p.parent_id, ev.event_id FROM ev, unnest(ev.parents::uuid[]) AS p(parent_id) \
), lanes AS ( \
  INSERT INTO eventdag_lanes (tenant_id, lane, next_sequence) \
  SELECT * FROM unnest($15::uuid[], $16::int8[], $17::int8[]) \
  ON CONFLICT (tenant_id, lane) DO UPDATE SET next_sequence = excluded.next_sequence \
), logs AS ( \
  UPDATE eventdag_tenant_logs g SET last_event_cursor = x.last \
  FROM unnest($18::uuid[], $19::int8[]) AS x(t, last) WHERE g.tenant_id = x.t \
) \
SELECT 1";

/// The columns of the insert, one vector per column.
#[derive(Default)]
struct Columns {
    tenant: Vec<Uuid>,
    id: Vec<Uuid>,
    correlation: Vec<Uuid>,
    ts: Vec<i64>,
    depth: Vec<i64>,
    lane: Vec<i64>,
    sequence: Vec<i64>,
    size: Vec<i64>,
    kind: Vec<i32>,
    flags: Vec<i16>,
    parents: Vec<String>,
    payload: Vec<String>,
    hash: Vec<Vec<u8>>,
    cursor: Vec<i64>,
}

/// The stored view of a row, as validation needs it.
fn view_of(row: &EventRow) -> Result<ParentView, ErrorEffect> {
    let depth = u32::try_from(row.depth).map_err(|_| {
        ErrorEffect::corrupt(
            Some(row.event_id),
            format!("stored depth {} is out of range", row.depth),
        )
    })?;
    let hash: [u8; 32] = row
        .hash
        .as_slice()
        .try_into()
        .map_err(|_| ErrorEffect::corrupt(Some(row.event_id), "stored hash is not 32 bytes"))?;
    Ok(ParentView {
        id: row.event_id,
        tenant_id: row.tenant_id,
        depth,
        correlation_id: row.correlation_id,
        hash: eventdag::EventHash(hash),
    })
}

/// `{id,id}`: a uuid[] literal.
fn uuid_array_literal(ids: &[EventId]) -> String {
    let inner: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

/// What the sequential pass read from the database.
struct Context {
    stored: HashMap<EventId, EventRow>,
    lanes: HashMap<(TenantId, u32), u64>,
    chains: HashMap<(TenantId, EventId), ChainState>,
    last_cursor: HashMap<TenantId, i64>,
}

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Appends `events` all or none. Validation failures and races on ids
    /// are resolved as `MemoryDag` would resolve them.
    /// With `assign_position`, depth and sequence are assigned inside the
    /// transaction (`DagStore::append_assigned`): the tenant lock makes the
    /// lane counters read there exact, so writers never conflict.
    pub(crate) async fn append_events(
        &self,
        events: Vec<Event<P>>,
        assign_position: bool,
    ) -> Result<Appended<P>, ErrorEffect> {
        check_batch_size(events.len())?;
        let now = now_micros();
        let limits = self.inner.options.limits;
        // Prepared once, so that a retry appends the very same ids and
        // timestamps (and is idempotent if the first try committed).
        let prepared: Vec<Result<PreparedAppend<P>, ErrorEffect>> = events
            .into_iter()
            .map(|event| {
                if assign_position {
                    prepare_assigned(event, limits, now)
                } else {
                    prepare(event, limits, now)
                }
            })
            .collect();
        let mut attempt = 1;
        loop {
            match self.try_append(&prepared, now).await {
                Ok(appended) => return Ok(appended),
                Err(Failure::Error(error)) => return Err(error),
                Err(Failure::IdRaced) if attempt < ID_RACE_ATTEMPTS => attempt += 1,
                Err(Failure::IdRaced) => {
                    return Err(ErrorEffect::unavailable(
                        "append",
                        "kept losing races on an event id to concurrent appends; retry",
                    ))
                }
            }
        }
    }

    async fn try_append(
        &self,
        prepared: &[Result<PreparedAppend<P>, ErrorEffect>],
        now: u64,
    ) -> Result<Appended<P>, Failure> {
        // Events after the first that fails `prepare` are never looked at,
        // as in MemoryDag, which stops at the first refusal.
        let valid: Vec<&PreparedAppend<P>> =
            prepared.iter().map_while(|p| p.as_ref().ok()).collect();
        if valid.is_empty() {
            if let Some(Err(error)) = prepared.first() {
                return Err(error.clone().into());
            }
            return Ok(Appended::Stored(Committed {
                ids: Vec::new(),
                inserted: Vec::new(),
            }));
        }
        let sql = |error: sqlx::Error| Failure::Error(self.sql("append", &error));
        let mut tx = self.inner.pool.begin().await.map_err(sql)?;
        let context = self.read_context(&mut tx, &valid).await?;
        let outcome = plan(prepared, context, now)?;
        let plan = match outcome {
            Planned::Retry(admission) => return Ok(Appended::Retry(admission)),
            Planned::Write(plan) => plan,
        };
        if !plan.columns.id.is_empty() {
            self.write(&mut tx, &plan).await?;
        }
        tx.commit().await.map_err(sql)?;
        self.announce(&plan.notifications).await;
        let plan = *plan;
        Ok(Appended::Stored(Committed {
            ids: plan.ids,
            inserted: plan.stored,
        }))
    }

    /// Reads the named events, locks the tenants' log rows (in id order,
    /// so batches never deadlock) and reads the lanes and chains.
    async fn read_context(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        valid: &[&PreparedAppend<P>],
    ) -> Result<Context, Failure> {
        let sql = |error: sqlx::Error| Failure::Error(self.sql("append", &error));
        // Events are immutable, so the named ones (the batch's own ids and
        // their parents) are read before the tenant lock, which is then
        // held one round trip less. One that commits meanwhile is not
        // missed: its id makes the insert fail and the retry reads it.
        let own: Vec<EventId> = valid.iter().map(|p| p.event.header.event_id).collect();
        let mut named = own.clone();
        named.extend(valid.iter().flat_map(|p| p.event.parents.iter().copied()));
        let rows: Vec<EventRow> = sqlx::query_as(READ_NAMED)
            .bind(&named)
            .bind(&own)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        // Lanes and chain states change: they are read after the lock, in
        // a statement of their own, whose snapshot then sees every commit
        // of the transactions that held it before.
        let tenants: BTreeSet<TenantId> = valid.iter().map(|p| p.event.tenant_id).collect();
        let tenants: Vec<TenantId> = tenants.into_iter().collect();
        let locked: Vec<(Uuid, i64)> = sqlx::query_as(LOCK_TENANTS)
            .bind(&tenants)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let stored: HashMap<EventId, EventRow> =
            rows.into_iter().map(|r| (r.event_id, r)).collect();
        // Candidate chains: what each event's correlation id resolves to if
        // its parents check out.
        let mut resolved: HashMap<EventId, EventId> = HashMap::new();
        let (mut lane_tenants, mut lane_numbers, mut chain_tenants, mut chain_ids) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for p in valid {
            let header = &p.event.header;
            let correlation = if header.correlation_id.is_nil() {
                p.event.parents.first().map_or(header.event_id, |first| {
                    resolved
                        .get(first)
                        .copied()
                        .or_else(|| stored.get(first).map(|row| row.correlation_id))
                        .unwrap_or(header.event_id)
                })
            } else {
                header.correlation_id
            };
            resolved.insert(header.event_id, correlation);
            lane_tenants.push(p.event.tenant_id);
            lane_numbers.push(db_u32(header.position.lane));
            chain_tenants.push(p.event.tenant_id);
            chain_ids.push(correlation);
        }
        type LaneOrChain = (
            Uuid,
            Option<Uuid>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<i64>,
        );
        let rows: Vec<LaneOrChain> = sqlx::query_as(READ_LANES_AND_CHAINS)
            .bind(&lane_tenants)
            .bind(&lane_numbers)
            .bind(&chain_tenants)
            .bind(&chain_ids)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let mut lanes = HashMap::new();
        let mut chains = HashMap::new();
        for (tenant, correlation, lane, next, cancelled, until) in rows {
            match (correlation, lane, next) {
                (Some(correlation), _, _) => {
                    let until = until
                        .map(|until| model_u64(Some(correlation), "backpressure_until", until))
                        .transpose()?;
                    chains.insert(
                        (tenant, correlation),
                        ChainState {
                            cancelled,
                            backpressure_until: until,
                        },
                    );
                }
                (None, Some(lane), Some(next)) => {
                    let lane = u32::try_from(lane).map_err(|_| {
                        ErrorEffect::corrupt(None, format!("stored lane {lane} is out of range"))
                    })?;
                    lanes.insert((tenant, lane), model_u64(None, "next_sequence", next)?);
                }
                _ => {}
            }
        }
        Ok(Context {
            stored,
            lanes,
            chains,
            last_cursor: locked.into_iter().collect(),
        })
    }

    /// The one insert statement, and its mapping of unique violations.
    async fn write(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        plan: &Plan<P>,
    ) -> Result<(), Failure> {
        let c = &plan.columns;
        let result = sqlx::query(INSERT)
            .bind(&c.tenant)
            .bind(&c.id)
            .bind(&c.correlation)
            .bind(&c.ts)
            .bind(&c.depth)
            .bind(&c.lane)
            .bind(&c.sequence)
            .bind(&c.size)
            .bind(&c.kind)
            .bind(&c.flags)
            .bind(&c.parents)
            .bind(&c.payload)
            .bind(&c.hash)
            .bind(&c.cursor)
            .bind(&plan.lane_tenants)
            .bind(&plan.lane_numbers)
            .bind(&plan.lane_next)
            .bind(&plan.log_tenants)
            .bind(&plan.log_last)
            .execute(&mut **tx)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match violated_unique(&error).as_deref() {
                Some(constraint::EVENT_ID) => Err(Failure::IdRaced),
                // The tenant lock makes this unreachable unless the lanes
                // table was edited by hand; the database still refuses.
                Some(constraint::LANE_SEQUENCE) => Err(Failure::Error(plan.first_conflict())),
                _ => Err(Failure::Error(self.sql("append", &error))),
            },
        }
    }
}

/// What to write.
struct Plan<P> {
    ids: Vec<EventId>,
    /// The events to insert, sealed, in order.
    stored: Vec<Event<P>>,
    columns: Columns,
    inserted: Vec<(EventId, eventdag::DagPosition)>,
    lane_tenants: Vec<Uuid>,
    lane_numbers: Vec<i64>,
    lane_next: Vec<i64>,
    log_tenants: Vec<Uuid>,
    log_last: Vec<i64>,
    notifications: Vec<String>,
}

impl<P> Plan<P> {
    fn first_conflict(&self) -> ErrorEffect {
        self.inserted.first().map_or_else(
            || ErrorEffect::unavailable("append", "sequence uniqueness violated"),
            |(id, position)| sequence_conflict(*id, *position, position.sequence.saturating_add(1)),
        )
    }
}

enum Planned<P> {
    Write(Box<Plan<P>>),
    Retry(ChainAdmission),
}

/// The sequential pass: each event validated against the stored state and
/// the events before it in the batch, exactly as `MemoryDag` does.
fn plan<P: Serialize + DeserializeOwned + Clone>(
    prepared: &[Result<PreparedAppend<P>, ErrorEffect>],
    mut context: Context,
    now: u64,
) -> Result<Planned<P>, ErrorEffect> {
    let mut batch: HashMap<EventId, (PreparedAppend<P>, ParentView)> = HashMap::new();
    let mut ids = Vec::with_capacity(prepared.len());
    let mut columns = Columns::default();
    let mut inserted = Vec::new();
    let mut per_tenant: HashMap<TenantId, Vec<AppendedEvent>> = HashMap::new();
    for entry in prepared {
        let mut p = match entry {
            Ok(p) => p.clone(),
            Err(error) => return Err(error.clone()),
        };
        let id = p.event.header.event_id;
        if let Some(row) = context.stored.get(&id) {
            let (event, bytes) = row.clone().into_event_and_bytes::<P>()?;
            compare_with_stored(&p, &event, &bytes)?;
            ids.push(id);
            continue;
        }
        if let Some((earlier, _)) = batch.get(&id) {
            compare_with_stored(&p, &earlier.event, &earlier.payload_bytes)?;
            ids.push(id);
            continue;
        }
        let views: Vec<Option<ParentView>> = p
            .event
            .parents
            .iter()
            .map(|parent| match batch.get(parent) {
                Some((_, view)) => Ok(Some(*view)),
                None => context.stored.get(parent).map(view_of).transpose(),
            })
            .collect::<Result<_, _>>()?;
        check_parents(&mut p, &views)?;
        let tenant = p.event.tenant_id;
        let header = p.event.header;
        let chain = context
            .chains
            .get(&(tenant, header.correlation_id))
            .cloned()
            .unwrap_or_default();
        if let retry @ ChainAdmission::RetryAfter { .. } = check_chain(&p, &chain, now)? {
            return Ok(Planned::Retry(retry));
        }
        let lane_key = (tenant, header.position.lane);
        let next = context.lanes.get(&lane_key).copied().unwrap_or(0);
        check_sequence(&mut p, u32::try_from(next).unwrap_or(u32::MAX))?;
        // An assigned position was only settled just now.
        let header = p.event.header;
        let parents: Vec<ParentView> = views.into_iter().flatten().collect();
        seal(&mut p, &parents);
        context
            .lanes
            .insert(lane_key, u64::from(header.position.sequence) + 1);
        let last = context.last_cursor.entry(tenant).or_insert(0);
        *last += 1;
        push_columns(&mut columns, &p, *last)?;
        per_tenant.entry(tenant).or_default().push(AppendedEvent {
            id,
            kind: header.event_kind,
        });
        inserted.push((id, header.position));
        let view = ParentView {
            id,
            tenant_id: tenant,
            depth: header.position.depth,
            correlation_id: header.correlation_id,
            hash: p.event.hash,
        };
        batch.insert(id, (p, view));
        ids.push(id);
    }
    let touched: BTreeSet<(TenantId, u32)> = batch
        .values()
        .map(|(p, _)| (p.event.tenant_id, p.event.header.position.lane))
        .collect();
    let stored = inserted
        .iter()
        .filter_map(|(id, _)| batch.remove(id).map(|(p, _)| p.event))
        .collect();
    let mut plan = Plan {
        ids,
        stored,
        columns,
        inserted,
        lane_tenants: Vec::new(),
        lane_numbers: Vec::new(),
        lane_next: Vec::new(),
        log_tenants: Vec::new(),
        log_last: Vec::new(),
        notifications: Vec::new(),
    };
    for key in touched {
        let next = context.lanes.get(&key).copied().unwrap_or(0);
        plan.lane_tenants.push(key.0);
        plan.lane_numbers.push(db_u32(key.1));
        plan.lane_next.push(i64::try_from(next).unwrap_or(i64::MAX));
    }
    for (tenant, events) in per_tenant {
        let last = context.last_cursor.get(&tenant).copied().unwrap_or(0);
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        plan.log_tenants.push(tenant);
        plan.log_last.push(last);
        let truncated = events.len() > MAX_NOTIFIED_EVENTS;
        let change = PgChange::Appended {
            tenant_id: tenant,
            first_cursor: model_u64(None, "cursor", last - count + 1)?,
            last_cursor: model_u64(None, "cursor", last)?,
            events: events.into_iter().take(MAX_NOTIFIED_EVENTS).collect(),
            truncated,
        };
        plan.notifications.push(change.payload());
    }
    Ok(Planned::Write(Box::new(plan)))
}

fn push_columns<P>(
    columns: &mut Columns,
    p: &PreparedAppend<P>,
    cursor: i64,
) -> Result<(), ErrorEffect> {
    let header = &p.event.header;
    let id = header.event_id;
    let payload = String::from_utf8(p.payload_bytes.clone()).map_err(|_| {
        ErrorEffect::invalid(
            "payload",
            format!("payload of event {id} is not UTF-8 JSON"),
        )
    })?;
    columns.tenant.push(p.event.tenant_id);
    columns.id.push(id);
    columns.correlation.push(header.correlation_id);
    columns.ts.push(db_u64("timestamp", header.timestamp)?);
    columns.depth.push(db_u32(header.position.depth));
    columns.lane.push(db_u32(header.position.lane));
    columns.sequence.push(db_u32(header.position.sequence));
    columns.size.push(db_u32(header.payload_size));
    columns.kind.push(i32::from(header.event_kind.0));
    columns.flags.push(i16::from(header.flags.bits()));
    columns.parents.push(uuid_array_literal(&p.event.parents));
    columns.payload.push(payload);
    columns.hash.push(p.event.hash.0.to_vec());
    columns.cursor.push(cursor);
    Ok(())
}
