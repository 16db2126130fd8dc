//! The trait methods with a provided (optimistic or filtering) version —
//! `DagStore::append_assigned`, `DagStore::append_assigned_batch` and
//! `EventDag::find_by_kind_for_tenant` — against the whole conformance
//! suite. Every backend here overrides them natively, so without this
//! store the provided versions would never run: it delegates everything
//! else to a `MemoryDag` and keeps the provided ones.

use eventdag::{
    async_trait, ApiKeyRecord, ChainState, CursorEvent, DagPosition, DagStore, Effect, Event,
    EventDag, EventId, EventKind, MemoryDag, SignalRecord, StoredRecord, TenantId, TenantRecord,
    TenantStore, UpstreamSignal,
};
use serde_json::Value;
use uuid::Uuid;

/// A `MemoryDag` that uses the provided trait methods.
struct Provided(MemoryDag<Value>);

#[async_trait]
impl EventDag for Provided {
    type Payload = Value;

    async fn append(&self, event: Event<Value>) -> Effect<EventId> {
        self.0.append(event).await
    }

    async fn read(&self, event_id: EventId) -> Effect<Event<Value>> {
        self.0.read(event_id).await
    }

    async fn walk_ancestors(&self, from: EventId, limit: usize) -> Effect<Vec<Event<Value>>> {
        self.0.walk_ancestors(from, limit).await
    }

    async fn walk_descendants(&self, from: EventId, limit: usize) -> Effect<Vec<Event<Value>>> {
        self.0.walk_descendants(from, limit).await
    }

    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()> {
        self.0.signal_upstream(from, signal).await
    }

    async fn find_correlation_chain(
        &self,
        tenant_id: Uuid,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<Value>>> {
        self.0
            .find_correlation_chain(tenant_id, correlation_id)
            .await
    }

    async fn next_position(&self, parent: Option<EventId>, lane: u32) -> Effect<DagPosition> {
        self.0.next_position(parent, lane).await
    }

    async fn find_by_kind(
        &self,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<Value>>> {
        self.0.find_by_kind(kind, min_depth, max_depth, limit).await
    }

    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()> {
        self.0.acknowledge(event_id, send_upstream).await
    }

    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<Value>>> {
        self.0.unacknowledged(limit).await
    }
}

#[async_trait]
impl DagStore for Provided {
    async fn append_batch(&self, events: Vec<Event<Value>>) -> Effect<Vec<EventId>> {
        self.0.append_batch(events).await
    }

    async fn next_position_for_tenant(
        &self,
        tenant_id: TenantId,
        parent: Option<EventId>,
        lane: u32,
    ) -> Effect<DagPosition> {
        self.0
            .next_position_for_tenant(tenant_id, parent, lane)
            .await
    }

    async fn unacknowledged_for_tenant(
        &self,
        tenant_id: TenantId,
        limit: usize,
    ) -> Effect<Vec<Event<Value>>> {
        self.0.unacknowledged_for_tenant(tenant_id, limit).await
    }

    async fn signals_of(&self, event_id: EventId, limit: usize) -> Effect<Vec<SignalRecord>> {
        self.0.signals_of(event_id, limit).await
    }

    async fn signals_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<SignalRecord>> {
        self.0.signals_after(tenant_id, after, limit).await
    }

    async fn events_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<CursorEvent<Value>>> {
        self.0.events_after(tenant_id, after, limit).await
    }

    async fn chain_state(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<ChainState> {
        self.0.chain_state(tenant_id, correlation_id).await
    }

    async fn check_health(&self) -> Effect<()> {
        self.0.check_health().await
    }

    async fn stored_record(&self, event_id: EventId) -> Effect<StoredRecord> {
        self.0.stored_record(event_id).await
    }

    async fn chain_records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<StoredRecord>> {
        self.0.chain_records(tenant_id, correlation_id).await
    }
}

#[async_trait]
impl TenantStore for Provided {
    async fn create_tenant(&self, tenant: TenantRecord) -> Effect<()> {
        self.0.create_tenant(tenant).await
    }

    async fn list_tenants(&self) -> Effect<Vec<TenantRecord>> {
        self.0.list_tenants().await
    }

    async fn put_api_key(&self, key: ApiKeyRecord) -> Effect<()> {
        self.0.put_api_key(key).await
    }

    async fn find_api_key(&self, prefix: &str) -> Effect<Option<ApiKeyRecord>> {
        self.0.find_api_key(prefix).await
    }

    async fn list_api_keys(&self) -> Effect<Vec<ApiKeyRecord>> {
        self.0.list_api_keys().await
    }

    async fn revoke_api_key(&self, prefix: &str) -> Effect<()> {
        self.0.revoke_api_key(prefix).await
    }
}

async fn fresh() -> (Provided, ()) {
    (Provided(MemoryDag::new()), ())
}

async fn corrupt(store: &Provided, event_id: EventId) {
    assert!(store
        .0
        .simulate_corruption(event_id, b"{\"tampered\":true}".to_vec()));
}

eventdag_testkit::conformance_suite!(fresh, corrupt);
