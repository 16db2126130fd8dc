//! Append and batch append: one transaction in which the core's append
//! flow runs over what was read in three statements ([`plan`]), then one
//! insert of every row through array parameters (`UNNEST`). Statements
//! ([`sql`]): BEGIN, read the named events, lock the tenants' log rows,
//! read lanes and chain states, insert, COMMIT — the same six for one
//! event or ten thousand — then NOTIFY after the commit.

mod plan;
mod sql;

use std::collections::HashMap;

use eventdag::backend::{append_all, Admission, Appended, Held, PreparedBatch};
use eventdag::{now_micros, ChainState, ErrorEffect, EventId, NewEvent, TenantId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
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

type LaneOrChain = (
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
    /// `append_batch`, for messages), telling `watch` when its COMMIT is in
    /// flight. Races on ids are resolved by running the same prepared
    /// batch again, which then finds the stored events.
    pub(crate) async fn append_drafts(
        &self,
        operation: &str,
        watch: &CommitWatch,
        drafts: Vec<NewEvent<P>>,
    ) -> Result<Outcome<P>, ErrorEffect> {
        let now = now_micros();
        // Prepared once, so that a retry appends the very same ids and
        // timestamps (and is idempotent if the first try committed).
        let mut batch = PreparedBatch::new(drafts, self.inner.options.limits, now)?;
        let mut attempt = 1;
        loop {
            match self.try_append(&mut batch, now, operation, watch).await {
                Ok(None) => return Ok(Outcome::Stored(batch.into_appended())),
                Ok(Some(held)) => return Ok(Outcome::Held(held)),
                Err(Failure::Error(error)) => return Err(error),
                Err(Failure::IdRaced) if attempt < ID_RACE_ATTEMPTS => attempt += 1,
                Err(Failure::IdRaced) => {
                    return Err(ErrorEffect::unavailable(
                        operation,
                        "kept losing races on an event id to concurrent appends; retry (nothing of it was written)",
                    ))
                }
            }
        }
    }

    /// One attempt: `Ok(None)` when the batch committed, `Ok(Some)` when
    /// a chain holds it. Every failure before COMMIT wrote nothing; a
    /// failure of COMMIT leaves the outcome unknown (`crate::commit`).
    async fn try_append(
        &self,
        batch: &mut PreparedBatch<P>,
        now: u64,
        operation: &str,
        watch: &CommitWatch,
    ) -> Result<Option<Held>, Failure> {
        if batch.valid().next().is_none() {
            // Nothing could be stored: the flow answers the first refusal
            // (or the empty batch) without a round trip.
            let mut planner: Planner<P> = Planner::new(Prefetched::default());
            append_all(&mut planner, batch, now)?;
            return Ok(None);
        }
        let sql = |error: sqlx::Error| Failure::Error(nothing_written(self.sql(operation, &error)));
        let mut tx = self.inner.pool.begin().await.map_err(sql)?;
        let read = self.prefetch(&mut tx, batch, operation).await?;
        let mut planner = Planner::new(read);
        match append_all(&mut planner, batch, now)? {
            Admission::Admitted => {}
            // Dropping the transaction rolls it back; nothing was written.
            Admission::Held(held) => return Ok(Some(held)),
        }
        let plan = planner.finish()?;
        let Some(first) = plan.columns.id.first().copied() else {
            // Every event was stored before (an idempotent re-append):
            // nothing to commit, and dropping the transaction releases
            // the tenant lock.
            return Ok(None);
        };
        self.write(&mut tx, &plan, operation).await?;
        // The first event inserted tells the outcome: the batch commits
        // all or none.
        self.commit(tx, watch, operation, first, Recovery::Append)
            .await?;
        self.announce(&plan.notifications).await;
        Ok(None)
    }

    /// Reads what the flow will ask: the named events, then — after
    /// locking the tenants' log rows (in id order, so batches never
    /// deadlock) — the lanes and chains.
    async fn prefetch(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        batch: &PreparedBatch<P>,
        operation: &str,
    ) -> Result<Prefetched, Failure> {
        let sql = |error: sqlx::Error| Failure::Error(nothing_written(self.sql(operation, &error)));
        // Events are immutable, so the named ones (the batch's own ids and
        // their parents) are read before the tenant lock, which is then
        // held one round trip less. One that commits meanwhile is not
        // missed: its id makes the insert fail and the retry reads it.
        let own: Vec<EventId> = batch.valid().map(|p| p.id()).collect();
        let mut named = own.clone();
        named.extend(batch.valid().flat_map(|p| p.event.parents.iter().copied()));
        let rows: Vec<EventRow> = sqlx::query_as(sql::READ_NAMED)
            .bind(&named)
            .bind(&own)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let named: HashMap<EventId, EventRow> =
            rows.into_iter().map(|row| (row.event_id, row)).collect();
        let views = parent_views(&named);
        let lookups = batch.lookups(|id| views.get(id).copied());
        // Lanes and chain states change: they are read after the lock, in
        // a statement of their own, whose snapshot then sees every commit
        // of the transactions that held it before.
        let locked: Vec<(Uuid, i64)> = sqlx::query_as(sql::LOCK_TENANTS)
            .bind(batch.tenants())
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
        let rows: Vec<LaneOrChain> = sqlx::query_as(sql::READ_LANES_AND_CHAINS)
            .bind(&lane_tenants)
            .bind(&lane_numbers)
            .bind(&chain_tenants)
            .bind(&chain_ids)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let mut read = Prefetched {
            named,
            lookups,
            last_cursor: locked.into_iter().collect(),
            ..Prefetched::default()
        };
        for (tenant, correlation, lane, next, cancelled, until) in rows {
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
