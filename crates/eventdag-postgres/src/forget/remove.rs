//! Chain removal: one transaction serialised with the tenant's appends.
//!
//! 1. Lock the chain's event rows (id order), then the tenant's log row —
//!    the order signals keep (event rows, then the log row), so neither
//!    waits for the other in a cycle; appends take only the log row and
//!    the group committer waits for nothing this transaction holds.
//! 2. Lock the chain's rows again without waiting (`SKIP LOCKED`): events
//!    appended between the two locks are locked now. Then read the facts
//!    (every event's timestamp and flags, outside children), which no
//!    append of the tenant can change any more. If a row was skipped —
//!    held by a signal or acknowledgment, which may wait for the log row
//!    — roll back and start again (bounded) rather than wait in a cycle.
//! 3. `check_removal` decides; Kept changes nothing (rolled back).
//! 4. One statement deletes the rows and logs change 4 per event.
//!
//! An append that read a parent before this committed finds it gone after
//! its own tenant lock (`append::sql::READ_LANES_AND_CHAINS` checks) and
//! starts again, so no child of a removed event is ever stored.

use std::collections::BTreeSet;

use eventdag::backend::{check_removal, RemovalFacts};
use eventdag::{ChainRemoval, Effect, ErrorEffect, EventFlags, EventId, TenantId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::sql;
use crate::codec::{db_u64, model_u64};
use crate::commit::{CommitWatch, Recovery};
use crate::notify::PgChange;
use crate::sql_error::nothing_written;
use crate::PgDag;

const OPERATION: &str = "remove_chain";

/// How often the removal starts again when signals or acknowledgments
/// hold rows of the chain after its log row is taken.
const ATTEMPTS: usize = 5;

type FactRow = (Uuid, i64, i16, Option<Uuid>, Option<Uuid>);

/// One attempt's end.
enum Attempt {
    /// Answered (removed or kept).
    Done(ChainRemoval, Vec<EventId>),
    /// Another transaction held a row of the chain: try again.
    Changed,
}

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Removes the chain as [`eventdag::Forgetting::remove_chain`] does
    /// and also answers the ids of the removed events (none when kept),
    /// so that a cache in front of this store can drop them.
    pub async fn remove_chain_events(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<(ChainRemoval, Vec<EventId>)> {
        self.remove_chain_ids(tenant_id, correlation_id, older_than)
            .await
            .into()
    }

    async fn remove_chain_ids(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Result<(ChainRemoval, Vec<EventId>), ErrorEffect> {
        // Refused before anything is locked.
        db_u64("older_than", older_than)?;
        let watch = CommitWatch::default();
        let call = async {
            for _ in 0..ATTEMPTS {
                match self
                    .try_remove(tenant_id, correlation_id, older_than, &watch)
                    .await?
                {
                    Attempt::Done(removal, ids) => return Ok((removal, ids)),
                    Attempt::Changed => continue,
                }
            }
            Err(ErrorEffect::unavailable(
                OPERATION,
                "signals or acknowledgments kept holding the chain's events while it was \
                 being removed; nothing was removed, retry",
            ))
        };
        self.bounded_write(OPERATION, &watch, call).await
    }

    async fn try_remove(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
        watch: &CommitWatch,
    ) -> Result<Attempt, ErrorEffect> {
        let sql = |error: sqlx::Error| nothing_written(self.sql(OPERATION, &error));
        let mut tx = self.inner.pool.begin().await.map_err(sql)?;
        sqlx::query(sql::LOCK_CHAIN)
            .bind(tenant_id)
            .bind(correlation_id)
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
        sqlx::query(sql::LOCK_TENANT)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
        let locked: Vec<(Uuid,)> = sqlx::query_as(sql::RELOCK_CHAIN)
            .bind(tenant_id)
            .bind(correlation_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(sql)?;
        let (facts, outside) = self.chain_facts(&mut tx, tenant_id, correlation_id).await?;
        let locked: BTreeSet<EventId> = locked.into_iter().map(|(id,)| id).collect();
        let now: BTreeSet<EventId> = facts.iter().map(|f| f.event_id).collect();
        if locked != now {
            return Ok(Attempt::Changed);
        }
        if let Err(reason) = check_removal(&facts, outside, older_than) {
            // Dropping the transaction rolls back the log-row upsert.
            return Ok(Attempt::Done(ChainRemoval::Kept { reason }, Vec::new()));
        }
        let ids: Vec<EventId> = facts.iter().map(|f| f.event_id).collect();
        let (removed,): (i64,) = sqlx::query_as(sql::REMOVE_CHAIN)
            .bind(tenant_id)
            .bind(correlation_id)
            .bind(&ids)
            .fetch_one(&mut *tx)
            .await
            .map_err(sql)?;
        if usize::try_from(removed).ok() != Some(ids.len()) {
            return Err(ErrorEffect::corrupt(
                Some(correlation_id),
                format!(
                    "removing a chain of {} locked events deleted {removed} rows",
                    ids.len()
                ),
            ));
        }
        self.commit(tx, watch, OPERATION, correlation_id, Recovery::Forget)
            .await?;
        self.announce(vec![PgChange::ChainRemoved {
            tenant_id,
            correlation_id,
            events: ids.len(),
        }
        .payload()]);
        Ok(Attempt::Done(
            ChainRemoval::Removed { events: ids.len() },
            ids,
        ))
    }

    /// What `check_removal` needs, read under both locks.
    async fn chain_facts(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<(Vec<RemovalFacts>, Option<(EventId, EventId)>), ErrorEffect> {
        let sql = |error: sqlx::Error| nothing_written(self.sql(OPERATION, &error));
        let rows: Vec<FactRow> = sqlx::query_as(sql::CHAIN_FACTS)
            .bind(tenant_id)
            .bind(correlation_id)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let mut outside = None;
        let mut facts = Vec::with_capacity(rows.len());
        for (event_id, ts, flags, child, parent) in rows {
            let flags = u8::try_from(flags).map_err(|_| {
                ErrorEffect::corrupt(Some(event_id), format!("stored flags {flags} out of range"))
            })?;
            let flags = EventFlags::from_bits_retain(flags);
            facts.push(RemovalFacts {
                event_id,
                timestamp: model_u64(Some(event_id), "timestamp", ts)?,
                waiting_for_ack: flags.awaits_ack(),
            });
            if outside.is_none() {
                outside = child.zip(parent);
            }
        }
        Ok((facts, outside))
    }
}
