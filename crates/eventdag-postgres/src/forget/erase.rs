//! Tenant erasure: one transaction that locks the tenant's event rows
//! (id order), then its log row, and deletes every row of the tenant from
//! every table, logging one tenant-less change 5.
//!
//! The locks come in the order chain removal and signals keep (event rows
//! first, waiting; then the log row). Events appended between the two are
//! locked after the log row without waiting (`SKIP LOCKED`): if another
//! transaction holds one — a signal that may wait for the log row — the
//! attempt starts again rather than wait for it in a cycle.
//! Registry, keys and retention policy go in the same statement: erasure
//! is all or nothing.

use eventdag::{ErrorEffect, TenantErasure, TenantId};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::sql;
use crate::commit::{CommitWatch, Recovery};
use crate::notify::PgChange;
use crate::sql_error::nothing_written;
use crate::PgDag;

const OPERATION: &str = "erase_tenant";

/// How often the erasure starts again when signals or acknowledgments
/// hold rows of the tenant's events after its log row is taken.
const ATTEMPTS: usize = 5;

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// [`eventdag::Forgetting::erase_tenant`] under the operation timeout.
    pub(super) async fn erase(&self, tenant_id: TenantId) -> Result<TenantErasure, ErrorEffect> {
        let watch = CommitWatch::default();
        let call = async {
            for _ in 0..ATTEMPTS {
                if let Some(erased) = self.try_erase(tenant_id, &watch).await? {
                    return Ok(erased);
                }
            }
            Err(ErrorEffect::unavailable(
                OPERATION,
                "signals or acknowledgments kept holding the tenant's events while it was \
                 being erased; nothing was erased, retry",
            ))
        };
        self.bounded_write(OPERATION, &watch, call).await
    }

    /// One attempt; `None` when another transaction held an event's row.
    async fn try_erase(
        &self,
        tenant_id: TenantId,
        watch: &CommitWatch,
    ) -> Result<Option<TenantErasure>, ErrorEffect> {
        let sql = |error: sqlx::Error| nothing_written(self.sql(OPERATION, &error));
        let mut tx = self.inner.pool.begin().await.map_err(sql)?;
        let _: (i64,) = sqlx::query_as(sql::LOCK_TENANT_EVENTS)
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(sql)?;
        sqlx::query(sql::LOCK_TENANT)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
        let (total, locked): (i64, i64) = sqlx::query_as(sql::RELOCK_TENANT_EVENTS)
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(sql)?;
        // No event of the tenant can be added now (the log row is held);
        // every one of them must be held by this transaction.
        if total != locked {
            return Ok(None);
        }
        let (events, api_keys, registered): (i64, i64, i64) = sqlx::query_as(sql::ERASE_TENANT)
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(sql)?;
        self.commit(tx, watch, OPERATION, tenant_id, Recovery::Forget)
            .await?;
        self.announce(vec![PgChange::TenantErased.payload()]);
        Ok(Some(TenantErasure {
            events: count(events),
            api_keys: count(api_keys),
            registered: registered > 0,
        }))
    }
}
