//! Retention policies: one row per tenant in `eventdag_retention`
//! (migration 0005), checked before it is stored.

use eventdag::{ErrorEffect, RetentionPolicy, TenantId};
use uuid::Uuid;

use super::sql;
use crate::PgDag;

impl<P> PgDag<P> {
    /// Sets (`Some`) or removes (`None`) the tenant's policy.
    pub(super) async fn put_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Result<(), ErrorEffect> {
        let operation = "set_retention_policy";
        let result = match policy {
            Some(policy) => {
                policy.check()?;
                let text = serde_json::to_string(&policy).map_err(|err| {
                    ErrorEffect::invalid("rules", format!("the policy cannot be encoded: {err}"))
                })?;
                sqlx::query(sql::SET_POLICY)
                    .bind(tenant_id)
                    .bind(text)
                    .execute(&self.inner.pool)
                    .await
            }
            None => {
                sqlx::query(sql::DELETE_POLICY)
                    .bind(tenant_id)
                    .execute(&self.inner.pool)
                    .await
            }
        };
        result.map_err(|error| self.sql(operation, &error))?;
        Ok(())
    }

    /// Every tenant's policy, by tenant id.
    pub(super) async fn policies(&self) -> Result<Vec<(TenantId, RetentionPolicy)>, ErrorEffect> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(sql::POLICIES)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.sql("retention_policies", &error))?;
        rows.into_iter()
            .map(|(tenant_id, text)| {
                let policy = serde_json::from_str(&text).map_err(|err| {
                    ErrorEffect::corrupt(
                        None,
                        format!("stored retention policy of tenant {tenant_id}: {err}"),
                    )
                })?;
                Ok((tenant_id, policy))
            })
            .collect()
    }
}
