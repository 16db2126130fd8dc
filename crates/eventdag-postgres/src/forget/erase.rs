//! Tenant erasure: one transaction that locks the tenant's event rows
//! (id order), then its log row, and deletes every row of the tenant from
//! every table, logging one tenant-less change 5.
//!
//! The locks come in the order chain removal and signals keep (event rows
//! first); an event appended between the two locks is not locked, so the
//! attempt starts again rather than lock it after the log row.
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

/// How often the erasure starts again when appends keep adding events
/// between its two locks.
const ATTEMPTS: usize = 3;

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
                "appends kept adding events to the tenant while it was being erased; nothing \
                 was erased, retry",
            ))
        };
        self.bounded_write(OPERATION, &watch, call).await
    }

    /// One attempt; `None` when events were added between the locks.
    async fn try_erase(
        &self,
        tenant_id: TenantId,
        watch: &CommitWatch,
    ) -> Result<Option<TenantErasure>, ErrorEffect> {
        let sql = |error: sqlx::Error| nothing_written(self.sql(OPERATION, &error));
        let mut tx = self.inner.pool.begin().await.map_err(sql)?;
        let (locked,): (i64,) = sqlx::query_as(sql::LOCK_TENANT_EVENTS)
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(sql)?;
        sqlx::query(sql::LOCK_TENANT)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
        let (now,): (i64,) = sqlx::query_as(sql::COUNT_TENANT_EVENTS)
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(sql)?;
        // Only this transaction and chain removal (which takes the log row
        // first) delete events, so an equal count means the same rows.
        if now != locked {
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
