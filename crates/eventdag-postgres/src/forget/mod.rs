//! [`Forgetting`] for [`PgDag`] (SPEC §10, migration 0005): redaction,
//! chain removal, tenant erasure and retention policies. Each write is
//! one transaction that also writes its change-log row (kinds 3, 4, 5),
//! so other nodes' caches learn of it as durably as of an append; a
//! `NOTIFY` after the commit only wakes them. Design and lock order:
//! docs/storage-postgres.md, "Forgetting".

mod erase;
mod redact;
mod remove;
mod retention;
mod sql;

use eventdag::{
    async_trait, ChainRemoval, Effect, Event, EventId, Forgetting, RetentionPolicy, TenantErasure,
    TenantId,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::PgDag;

#[async_trait]
impl<P> Forgetting for PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn redact(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Effect<Event<P>> {
        self.redact_event(tenant_id, event_id, reason).await.into()
    }

    async fn remove_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<ChainRemoval> {
        self.remove_chain_events(tenant_id, correlation_id, older_than)
            .await
            .map(|(removal, _)| removal)
    }

    async fn erase_tenant(&self, tenant_id: TenantId) -> Effect<TenantErasure> {
        self.erase(tenant_id).await.into()
    }

    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Effect<()> {
        self.bounded("set_retention_policy", self.put_policy(tenant_id, policy))
            .await
            .into()
    }

    async fn retention_policies(&self) -> Effect<Vec<(TenantId, RetentionPolicy)>> {
        self.bounded("retention_policies", self.policies())
            .await
            .into()
    }
}
