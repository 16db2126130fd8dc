//! Append and batch append. A caller prepares its batch and hands it to
//! the group committer ([`group`]), which runs every append waiting in
//! one transaction: the core's append flow over what was read in three
//! statements ([`plan`]), then one insert of every row through array
//! parameters (`UNNEST`). Statements ([`sql`]): BEGIN, read the named
//! events, lock the tenants' log rows, read lanes and chain states,
//! insert, COMMIT — the same six for one event, ten thousand, or a group
//! of appends — then NOTIFY after the commit.

pub(crate) mod group;
mod plan;
mod sql;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use eventdag::backend::{append_all, Appended, Held, Lookups, Prepared, PreparedBatch};
use eventdag::{now_micros, ChainState, ErrorEffect, EventId, NewEvent, TenantId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::codec::{db_u32, model_u64, EventRow};
use crate::commit::{CommitWatch, Recovery};
use crate::sql_error::{constraint, nothing_written, violated_unique};
use crate::PgDag;
use plan::{parent_views, Plan, Planner, Prefetched};

/// What an append did.
pub(crate) enum Outcome<P> {
    /// Every event is stored (now or before), as stored.
    Stored(Vec<Appended<P>>),
    /// A chain is under backpressure; nothing was stored.
    Held(Held),
}

/// Why one attempt failed.
enum Failure {
    /// A domain or operational error: returned.
    Error(ErrorEffect),
    /// Another transaction inserted one of the ids first, or removed an
    /// event the batch names: try again (the retry reads them afresh).
    IdRaced,
}

impl From<ErrorEffect> for Failure {
    fn from(error: ErrorEffect) -> Self {
        Self::Error(error)
    }
}

/// `src` of a row of `READ_LANES_AND_CHAINS` naming an event read before
/// the tenant lock that is gone since.
const GONE: i16 = 2;

/// How often an append is retried after losing a race on an event id (or
/// finding an event it read removed since).
const ID_RACE_ATTEMPTS: usize = 3;

type LaneOrChain = (
    i16,
    Uuid,
    Option<Uuid>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Appends `drafts` all or none as `operation` (`append` or
    /// `append_batch`, for messages), telling `watch` when its write may
    /// be committing. The group committer ([`group`]) runs it in one
    /// transaction with the appends that arrived beside it.
    pub(crate) async fn append_drafts(
        &self,
        operation: &'static str,
        watch: &Arc<CommitWatch>,
        drafts: Vec<NewEvent<P>>,
    ) -> Result<Outcome<P>, ErrorEffect> {
        let now = now_micros();
        // Prepared once, so that a retry appends the very same ids and
        // timestamps (and is idempotent if the first try committed).
        let mut batch = PreparedBatch::new(drafts, self.inner.options.limits, now)?;
        let Some(first) = batch.valid().next().map(Prepared::id) else {
            // Nothing could be stored: the flow answers the first refusal
            // (or the empty batch) without a round trip.
            let mut planner: Planner<P> = Planner::new(Prefetched::default());
            append_all(&mut planner, &mut batch, now)?;
            return Ok(Outcome::Stored(batch.into_appended()));
        };
        let (reply, answer) = oneshot::channel();
        let job = group::Job {
            operation,
            batch,
            now,
            watch: Arc::clone(watch),
            reply,
        };
        self.committer().send(job).map_err(|_| {
            ErrorEffect::unavailable(
                operation,
                "the group committer has stopped; nothing was written",
            )
        })?;
        match answer.await {
            Ok(outcome) => outcome,
            // The committer went away with the job: whether it committed
            // is known only if it never took the job.
            Err(_) => Err(match watch.take(first, Recovery::Append) {
                false => ErrorEffect::unavailable(
                    operation,
                    "the append was cancelled; nothing was written",
                ),
                true => Recovery::Append.unknown(operation, first, "the group committer stopped"),
            }),
        }
    }

    /// The group committer's queue, started on first use.
    fn committer(&self) -> &mpsc::UnboundedSender<group::Job<P>> {
        self.inner.appends.get_or_init(|| {
            let (queue, jobs) = mpsc::unbounded_channel();
            tokio::spawn(group::run(Arc::downgrade(&self.inner), jobs));
            queue
        })
    }

    /// Reads what the flow will ask: the named events, then — after
    /// locking the tenants' log rows (in id order, so batches never
    /// deadlock) — the lanes and chains.
    async fn prefetch(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        batches: &[&PreparedBatch<P>],
        operation: &str,
    ) -> Result<Prefetched, Failure> {
        let sql = |error: sqlx::Error| Failure::Error(nothing_written(self.sql(operation, &error)));
        // The named events (the batch's own ids and their parents) are read
        // before the tenant lock, which is then held one round trip less.
        // One that commits meanwhile is not missed: its id makes the insert
        // fail and the retry reads it. One removed meanwhile (chain removal
        // and tenant erasure delete under the tenant lock) is found gone by
        // the read after the lock, and the group starts again.
        let valid = || batches.iter().flat_map(|batch| batch.valid());
        let own: Vec<EventId> = valid().map(Prepared::id).collect();
        let mut named = own.clone();
        named.extend(valid().flat_map(|p| p.event.parents.iter().copied()));
        let rows: Vec<EventRow> = sqlx::query_as(sql::READ_NAMED)
            .bind(&named)
            .bind(&own)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let named: HashMap<EventId, EventRow> =
            rows.into_iter().map(|row| (row.event_id, row)).collect();
        let views = parent_views(&named);
        let mut lookups = Lookups::default();
        for batch in batches {
            let asked = batch.lookups(|id| views.get(id).copied());
            lookups.lanes.extend(asked.lanes);
            lookups.chains.extend(asked.chains);
        }
        lookups.lanes.sort_unstable();
        lookups.lanes.dedup();
        lookups.chains.sort_unstable();
        lookups.chains.dedup();
        // Each batch's tenants in id order, merged: the lock order.
        let tenants: BTreeSet<TenantId> = batches.iter().flat_map(|b| b.tenants()).collect();
        let tenants: Vec<TenantId> = tenants.into_iter().collect();
        // Lanes and chain states change: they are read after the lock, in
        // a statement of their own, whose snapshot then sees every commit
        // of the transactions that held it before.
        let locked: Vec<(Uuid, i64)> = sqlx::query_as(sql::LOCK_TENANTS)
            .bind(&tenants)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let (lane_tenants, lane_numbers): (Vec<TenantId>, Vec<i64>) = lookups
            .lanes
            .iter()
            .map(|(tenant, lane)| (*tenant, db_u32(*lane)))
            .unzip();
        let (chain_tenants, chain_ids): (Vec<TenantId>, Vec<EventId>) =
            lookups.chains.iter().copied().unzip();
        let read_before: Vec<EventId> = named.keys().copied().collect();
        let rows: Vec<LaneOrChain> = sqlx::query_as(sql::READ_LANES_AND_CHAINS)
            .bind(&lane_tenants)
            .bind(&lane_numbers)
            .bind(&chain_tenants)
            .bind(&chain_ids)
            .bind(&read_before)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        if rows.iter().any(|row| row.0 == GONE) {
            return Err(Failure::IdRaced);
        }
        let mut read = Prefetched {
            named,
            lookups,
            last_cursor: locked.into_iter().collect(),
            ..Prefetched::default()
        };
        for (_, tenant, correlation, lane, next, cancelled, until) in rows {
            match (correlation, lane, next) {
                (Some(correlation), _, _) => {
                    let until = until
                        .map(|until| model_u64(Some(correlation), "backpressure_until", until))
                        .transpose()?;
                    read.chains.insert(
                        (tenant, correlation),
                        ChainState {
                            cancelled,
                            backpressure_until: until,
                        },
                    );
                }
                (None, Some(lane), Some(next)) => {
                    let out_of_range = |what: &str, value: i64| {
                        ErrorEffect::corrupt(None, format!("stored {what} {value} is out of range"))
                    };
                    let lane = u32::try_from(lane).map_err(|_| out_of_range("lane", lane))?;
                    let next =
                        u32::try_from(next).map_err(|_| out_of_range("next_sequence", next))?;
                    read.lanes.insert((tenant, lane), next);
                }
                _ => {}
            }
        }
        Ok(read)
    }

    /// The one insert statement, and its mapping of unique violations.
    async fn write(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        plan: &Plan,
        operation: &str,
    ) -> Result<(), Failure> {
        let c = &plan.columns;
        let result = sqlx::query(sql::INSERT)
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
                _ => Err(Failure::Error(nothing_written(self.sql(operation, &error)))),
            },
        }
    }
}
