//! `DagStore` and `TenantStore` for [`TieredDag`]. Everything here is
//! mutable state or verification, so it is answered by PostgreSQL:
//! verification must read the source of truth, never a cached copy.

use eventdag::backend::StoredRecord;
use eventdag::{
    async_trait, ApiKeyRecord, ChainState, CursorEvent, DagPosition, DagStore, Effect, Event,
    EventId, NewEvent, SignalRecord, TenantId, TenantRecord, TenantStore,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::TieredDag;

#[async_trait]
impl<P> DagStore for TieredDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// PostgreSQL runs the append inside its transaction; the events it
    /// inserted fill the cache after the commit.
    async fn append_events(&self, drafts: Vec<NewEvent<P>>) -> Effect<Vec<Event<P>>> {
        self.append_through(drafts).await
    }

    async fn next_position_for_tenant(
        &self,
        tenant_id: TenantId,
        parent: Option<EventId>,
        lane: u32,
    ) -> Effect<DagPosition> {
        self.inner
            .pg
            .next_position_for_tenant(tenant_id, parent, lane)
            .await
    }

    async fn unacknowledged_for_tenant(
        &self,
        tenant_id: TenantId,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        self.inner
            .pg
            .unacknowledged_for_tenant(tenant_id, limit)
            .await
    }

    async fn signals_of(&self, event_id: EventId, limit: usize) -> Effect<Vec<SignalRecord>> {
        self.inner.pg.signals_of(event_id, limit).await
    }

    async fn signals_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<SignalRecord>> {
        self.inner.pg.signals_after(tenant_id, after, limit).await
    }

    async fn events_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<CursorEvent<P>>> {
        self.inner.pg.events_after(tenant_id, after, limit).await
    }

    async fn chain_state(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<ChainState> {
        self.inner.pg.chain_state(tenant_id, correlation_id).await
    }

    async fn check_health(&self) -> Effect<()> {
        self.inner.pg.check_health().await
    }

    async fn stored_record(&self, event_id: EventId) -> Effect<StoredRecord> {
        self.inner.pg.stored_record(event_id).await
    }

    async fn chain_records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<StoredRecord>> {
        self.inner.pg.chain_records(tenant_id, correlation_id).await
    }
}

#[async_trait]
impl<P> TenantStore for TieredDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn create_tenant(&self, tenant: TenantRecord) -> Effect<()> {
        self.inner.pg.create_tenant(tenant).await
    }

    async fn list_tenants(&self) -> Effect<Vec<TenantRecord>> {
        self.inner.pg.list_tenants().await
    }

    async fn put_api_key(&self, key: ApiKeyRecord) -> Effect<()> {
        self.inner.pg.put_api_key(key).await
    }

    async fn find_api_key(&self, prefix: &str) -> Effect<Option<ApiKeyRecord>> {
        self.inner.pg.find_api_key(prefix).await
    }

    async fn list_api_keys(&self) -> Effect<Vec<ApiKeyRecord>> {
        self.inner.pg.list_api_keys().await
    }

    async fn revoke_api_key(&self, prefix: &str) -> Effect<()> {
        self.inner.pg.revoke_api_key(prefix).await
    }
}
