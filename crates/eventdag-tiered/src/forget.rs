//! [`Forgetting`] for [`TieredDag`]: PostgreSQL forgets first (one
//! transaction that also logs the change for every other node); then this
//! node's cache drops what is gone before the call returns, so the caller
//! never reads back what it had removed. Other nodes learn of it from the
//! change log (`listener.rs`) within the staleness bound.

use eventdag::{
    async_trait, ChainRemoval, Effect, Event, EventId, Forgetting, RetentionPolicy, TenantErasure,
    TenantId,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::TieredDag;

#[async_trait]
impl<P> Forgetting for TieredDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// The cached entry is dropped whatever the outcome (an operational
    /// error may hide a commit); the next read fills it as PostgreSQL
    /// holds it.
    async fn redact(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Effect<Event<P>> {
        let result = self.inner.pg.redact(tenant_id, event_id, reason).await;
        self.inner.cache.forget(&[event_id]);
        result
    }

    /// The removed events' entries go, and the tenant's remembered
    /// descendants and chain answers (an outside parent's descendants
    /// named them). After an operational error the follower still
    /// applies the removal if it committed.
    async fn remove_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<ChainRemoval> {
        let result = self
            .inner
            .pg
            .remove_chain_events(tenant_id, correlation_id, older_than)
            .await;
        self.inner.answers.appended(tenant_id);
        match result.branch() {
            Ok((removal, ids)) => {
                self.inner.cache.forget(&ids);
                Effect::Ok(removal)
            }
            Err(other) => other,
        }
    }

    /// The whole cache is wiped: the change log does not say which tenant
    /// was erased (docs/storage-tiered.md, "Forgetting"), so every node
    /// does the same, and this one at once.
    async fn erase_tenant(&self, tenant_id: TenantId) -> Effect<TenantErasure> {
        let result = self.inner.pg.erase_tenant(tenant_id).await;
        if matches!(result, Effect::Ok(_)) {
            self.forget_everything();
        }
        result
    }

    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Effect<()> {
        self.inner.pg.set_retention_policy(tenant_id, policy).await
    }

    async fn retention_policies(&self) -> Effect<Vec<(TenantId, RetentionPolicy)>> {
        self.inner.pg.retention_policies().await
    }
}

impl<P> TieredDag<P> {
    /// Drops every cached entry and, through a new epoch, every
    /// remembered answer.
    pub(crate) fn forget_everything(&self) {
        self.inner.cache.wipe();
        self.inner.cache.bump_epoch();
    }
}
