//! The conformance suite's store, served over HTTP: one [`RemoteDag`]
//! per tenant the suite uses (the default tenant, TENANT_B, TENANT_C),
//! each with its own API key, in front of a live server.
//!
//! Over HTTP every call sees one tenant, the key's; the suite's
//! store-wide calls span tenants. So the adapter routes:
//! - a call that names a tenant (an event's, a `tenant_id` argument)
//!   goes to that tenant's client;
//! - a call about an event id asks the clients in turn and answers the
//!   first that is not `NotFound` (another tenant's event reads as not
//!   found over HTTP, so exactly one client can know it);
//! - a store-wide list (`find_by_kind`, `unacknowledged`) is the union of
//!   the clients' lists in the order the trait defines.
//!
//! Three calls have no request route in the HTTP API (`events_after`,
//! `signals_after`, `chain_state`): the adapter answers them from the
//! store behind the server, so that cases whose subject is another call
//! (that a signal reached every ancestor, say) still run through the
//! client for that call; the cases whose subject *is* one of them are
//! listed as not expressible in the test files. The tenant registry
//! (`TenantStore`) has no HTTP routes either and is answered the same way.

use std::sync::Arc;
use std::time::Duration;

use eventdag::backend::StoredRecord;
use eventdag::{
    AckLease, ApiKeyRecord, ChainRemoval, ChainState, ClaimRequest, Claimed, CursorEvent,
    DagPosition, DagStore, DeadLetter, Effect, ErrorEffect, Event, EventDag, EventId, EventKind,
    Forgetting, Lease, LeaseRef, NewEvent, QueueEntry, RetentionPolicy, SignalRecord,
    TenantErasure, TenantId, TenantRecord, TenantStore, UpstreamSignal, WorkQueue, DEFAULT_TENANT,
};
use eventdag_client::RemoteDag;
use eventdag_testkit::support::{TENANT_B, TENANT_C};
use futures::future::BoxFuture;
use serde_json::Value;

use super::server::{key_for, Server};

/// The suite's store over HTTP; see the module docs.
pub struct Tenanted<S> {
    clients: Vec<(TenantId, RemoteDag<Value>)>,
    /// A client with the administrator key (and no API key).
    admin: RemoteDag<Value>,
    /// The store behind the server, for what HTTP does not serve.
    pub backing: Arc<S>,
    /// Kept for the test's length.
    pub server: Server,
}

impl<S: eventdag_server::ServerStore> Tenanted<S> {
    /// Keys for the three tenants, a server on port 0, and a client each.
    pub async fn serve(backing: Arc<S>) -> Self {
        let mut clients = Vec::new();
        let mut keys = Vec::new();
        for (tenant, name) in [
            (DEFAULT_TENANT, "default"),
            (TENANT_B, "b"),
            (TENANT_C, "c"),
        ] {
            keys.push((tenant, key_for(&*backing, tenant, name).await));
        }
        let server = Server::start(Arc::clone(&backing), "127.0.0.1:0".parse().unwrap()).await;
        for (tenant, key) in keys {
            let client = RemoteDag::builder(&server.url())
                .api_key(key)
                .tenant(tenant)
                .build()
                .expect("client");
            clients.push((tenant, client));
        }
        let admin = RemoteDag::builder(&server.url())
            .admin_key(super::server::ADMIN_KEY)
            .build()
            .expect("admin client");
        Self {
            clients,
            admin,
            backing,
            server,
        }
    }
}

impl<S> Tenanted<S> {
    fn client(&self, tenant: TenantId) -> &RemoteDag<Value> {
        self.clients
            .iter()
            .find(|(id, _)| *id == tenant)
            .map(|(_, client)| client)
            .unwrap_or_else(|| panic!("the suite used tenant {tenant}, which has no key here"))
    }

    /// The answer of the client whose tenant holds `id`: each client in
    /// turn until one does not say that `id` itself is not found (another
    /// error, such as a signal naming an unknown target, is that tenant's
    /// answer).
    async fn owner<'a, T: Send>(
        &'a self,
        id: EventId,
        call: impl Fn(&'a RemoteDag<Value>) -> BoxFuture<'a, Effect<T>>,
    ) -> Effect<T> {
        for (_, client) in &self.clients {
            match call(client).await {
                Effect::Err(ErrorEffect::NotFound { event_id }) if event_id == id => {}
                other => return other,
            }
        }
        Effect::Err(ErrorEffect::NotFound { event_id: id })
    }

    /// Every client's list, merged by `key`, at most `limit`.
    async fn union<'a, K: Ord>(
        &'a self,
        call: impl Fn(&'a RemoteDag<Value>) -> BoxFuture<'a, Effect<Vec<Event<Value>>>>,
        key: impl Fn(&Event<Value>) -> K,
        limit: usize,
    ) -> Effect<Vec<Event<Value>>> {
        let mut all = Vec::new();
        for (_, client) in &self.clients {
            match call(client).await {
                Effect::Ok(events) => all.extend(events),
                other => return other,
            }
        }
        all.sort_by_key(|event| key(event));
        all.truncate(limit);
        Effect::Ok(all)
    }
}

#[eventdag::async_trait]
impl<S: DagStore + Send + Sync + 'static> EventDag for Tenanted<S>
where
    S::Payload: serde::Serialize,
{
    type Payload = Value;

    async fn append(&self, event: Event<Value>) -> Effect<EventId> {
        self.client(event.tenant_id).append(event).await
    }

    async fn read(&self, event_id: EventId) -> Effect<Event<Value>> {
        self.owner(event_id, |client| client.read(event_id)).await
    }

    async fn walk_ancestors(&self, from: EventId, limit: usize) -> Effect<Vec<Event<Value>>> {
        self.owner(from, |client| client.walk_ancestors(from, limit))
            .await
    }

    async fn walk_descendants(&self, from: EventId, limit: usize) -> Effect<Vec<Event<Value>>> {
        self.owner(from, |client| client.walk_descendants(from, limit))
            .await
    }

    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()> {
        // Another tenant's client answers 404 and stores nothing, so
        // asking in turn sends the signal exactly once.
        self.owner(from, |client| client.signal_upstream(from, signal.clone()))
            .await
    }

    async fn find_correlation_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<Value>>> {
        self.client(tenant_id)
            .find_correlation_chain(tenant_id, correlation_id)
            .await
    }

    async fn next_position(&self, parent: Option<EventId>, lane: u32) -> Effect<DagPosition> {
        match parent {
            None => self.client(DEFAULT_TENANT).next_position(None, lane).await,
            Some(id) => {
                self.owner(id, |client| client.next_position(parent, lane))
                    .await
            }
        }
    }

    async fn find_by_kind(
        &self,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<Value>>> {
        self.union(
            |client| client.find_by_kind(kind, min_depth, max_depth, limit),
            |event| {
                let position = event.position();
                (
                    position.depth,
                    position.lane,
                    position.sequence,
                    event.tenant_id,
                )
            },
            limit,
        )
        .await
    }

    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()> {
        self.owner(event_id, |client| {
            client.acknowledge(event_id, send_upstream)
        })
        .await
    }

    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<Value>>> {
        self.union(
            |client| client.unacknowledged(limit),
            |event| (event.header.timestamp, event.id()),
            limit,
        )
        .await
    }

    async fn find_by_kind_for_tenant(
        &self,
        tenant_id: TenantId,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<Value>>> {
        self.client(tenant_id)
            .find_by_kind_for_tenant(tenant_id, kind, min_depth, max_depth, limit)
            .await
    }
}

#[eventdag::async_trait]
impl<S: DagStore + Send + Sync + 'static> DagStore for Tenanted<S>
where
    S::Payload: serde::Serialize + serde::de::DeserializeOwned,
{
    async fn append_events(&self, drafts: Vec<NewEvent<Value>>) -> Effect<Vec<Event<Value>>> {
        let Some(first) = drafts.first() else {
            return Effect::Ok(Vec::new());
        };
        if drafts.iter().any(|draft| draft.timestamp.is_some()) {
            return self.append_behind(drafts).await;
        }
        self.client(first.tenant_id).append_events(drafts).await
    }

    async fn next_position_for_tenant(
        &self,
        tenant_id: TenantId,
        parent: Option<EventId>,
        lane: u32,
    ) -> Effect<DagPosition> {
        self.client(tenant_id)
            .next_position_for_tenant(tenant_id, parent, lane)
            .await
    }

    async fn unacknowledged_for_tenant(
        &self,
        tenant_id: TenantId,
        limit: usize,
    ) -> Effect<Vec<Event<Value>>> {
        self.client(tenant_id)
            .unacknowledged_for_tenant(tenant_id, limit)
            .await
    }

    async fn signals_of(&self, event_id: EventId, limit: usize) -> Effect<Vec<SignalRecord>> {
        self.owner(event_id, |client| client.signals_of(event_id, limit))
            .await
    }

    async fn signals_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<SignalRecord>> {
        self.backing.signals_after(tenant_id, after, limit).await
    }

    async fn events_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<CursorEvent<Value>>> {
        // The store behind the server may hold payloads in another type
        // than the suite's `Value`; its JSON is the same.
        self.backing
            .events_after(tenant_id, after, limit)
            .await
            .and_then(|page| {
                page.into_iter()
                    .map(|entry| {
                        let payload = serde_json::to_value(&entry.event.payload)
                            .map_err(|error| ErrorEffect::corrupt(Some(entry.event.id()), error))?;
                        Ok(CursorEvent {
                            cursor: entry.cursor,
                            event: entry.event.map_payload(|_| payload),
                        })
                    })
                    .collect::<Result<Vec<_>, ErrorEffect>>()
                    .into()
            })
    }

    async fn chain_state(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<ChainState> {
        self.backing.chain_state(tenant_id, correlation_id).await
    }

    async fn check_health(&self) -> Effect<()> {
        self.client(DEFAULT_TENANT).check_health().await
    }

    async fn stored_record(&self, event_id: EventId) -> Effect<StoredRecord> {
        self.owner(event_id, |client| client.stored_record(event_id))
            .await
    }

    async fn chain_records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<StoredRecord>> {
        self.client(tenant_id)
            .chain_records(tenant_id, correlation_id)
            .await
    }
}

#[eventdag::async_trait]
impl<S: TenantStore + Send + Sync + 'static> TenantStore for Tenanted<S> {
    async fn create_tenant(&self, tenant: TenantRecord) -> Effect<()> {
        self.backing.create_tenant(tenant).await
    }

    async fn list_tenants(&self) -> Effect<Vec<TenantRecord>> {
        self.backing.list_tenants().await
    }

    async fn put_api_key(&self, key: ApiKeyRecord) -> Effect<()> {
        self.backing.put_api_key(key).await
    }

    async fn find_api_key(&self, prefix: &str) -> Effect<Option<ApiKeyRecord>> {
        self.backing.find_api_key(prefix).await
    }

    async fn list_api_keys(&self) -> Effect<Vec<ApiKeyRecord>> {
        self.backing.list_api_keys().await
    }

    async fn revoke_api_key(&self, prefix: &str) -> Effect<()> {
        self.backing.revoke_api_key(prefix).await
    }
}

impl<S: DagStore + Send + Sync + 'static> Tenanted<S>
where
    S::Payload: serde::Serialize + serde::de::DeserializeOwned,
{
    /// Drafts with a caller-given timestamp, which `POST /v1/events`
    /// cannot carry: written into the store behind the server, so that the
    /// forgetting cases whose subject is retention (old chains) run their
    /// subject — planning, removal, archive — through the client. No case
    /// whose subject is such an append is run (see `suite.rs`).
    async fn append_behind(&self, drafts: Vec<NewEvent<Value>>) -> Effect<Vec<Event<Value>>> {
        let mut converted = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let payload = match serde_json::from_value::<S::Payload>(draft.payload.clone()) {
                Ok(payload) => payload,
                Err(error) => {
                    return Effect::Err(ErrorEffect::invalid("payload", error.to_string()))
                }
            };
            converted.push(NewEvent {
                id: draft.id,
                tenant_id: draft.tenant_id,
                parents: draft.parents,
                placement: draft.placement,
                kind: draft.kind,
                flags: draft.flags,
                correlation_id: draft.correlation_id,
                timestamp: draft.timestamp,
                payload,
            });
        }
        self.backing
            .append_events(converted)
            .await
            .and_then(|events| {
                events
                    .into_iter()
                    .map(|event| {
                        let payload = serde_json::to_value(&event.payload)
                            .map_err(|error| ErrorEffect::corrupt(Some(event.id()), error))?;
                        Ok(event.map_payload(|_| payload))
                    })
                    .collect::<Result<Vec<_>, ErrorEffect>>()
                    .into()
            })
    }
}

/// Forgetting through the clients: each call names its tenant and goes
/// to that tenant's client; erasure goes through the administrator
/// client (the admin route).
#[eventdag::async_trait]
impl<S: DagStore + Send + Sync + 'static> Forgetting for Tenanted<S>
where
    S::Payload: serde::Serialize + serde::de::DeserializeOwned,
{
    async fn redact(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Effect<Event<Value>> {
        self.client(tenant_id)
            .redact(tenant_id, event_id, reason)
            .await
    }

    async fn remove_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<ChainRemoval> {
        self.client(tenant_id)
            .remove_chain(tenant_id, correlation_id, older_than)
            .await
    }

    async fn erase_tenant(&self, tenant_id: TenantId) -> Effect<TenantErasure> {
        self.admin.erase_tenant(tenant_id).await
    }

    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Effect<()> {
        self.client(tenant_id)
            .set_retention_policy(tenant_id, policy)
            .await
    }

    /// Each key sees its own tenant's policy: the union, by tenant id.
    async fn retention_policies(&self) -> Effect<Vec<(TenantId, RetentionPolicy)>> {
        let mut all = Vec::new();
        for (_, client) in &self.clients {
            match client.retention_policies().await {
                Effect::Ok(policies) => all.extend(policies),
                other => return other,
            }
        }
        all.sort_by_key(|(tenant, _)| *tenant);
        Effect::Ok(all)
    }
}

/// Every queue call names its tenant, so it goes to that tenant's client:
/// the work queue runs through HTTP entirely.
#[eventdag::async_trait]
impl<S: DagStore + Send + Sync + 'static> WorkQueue for Tenanted<S>
where
    S::Payload: serde::Serialize + serde::de::DeserializeOwned,
{
    async fn claim(&self, request: ClaimRequest) -> Effect<Vec<Claimed<Value>>> {
        self.client(request.tenant_id).claim(request).await
    }

    async fn extend_lease(&self, lease: LeaseRef, duration: Duration) -> Effect<Lease> {
        self.client(lease.tenant_id)
            .extend_lease(lease, duration)
            .await
    }

    async fn release_lease(&self, lease: LeaseRef, delay: Duration) -> Effect<()> {
        self.client(lease.tenant_id)
            .release_lease(lease, delay)
            .await
    }

    async fn acknowledge_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Effect<()> {
        self.client(tenant_id)
            .acknowledge_leased(tenant_id, event_id, lease, send_upstream)
            .await
    }

    async fn dead_letters(
        &self,
        tenant_id: TenantId,
        after: Option<EventId>,
        limit: usize,
    ) -> Effect<Vec<DeadLetter<Value>>> {
        self.client(tenant_id)
            .dead_letters(tenant_id, after, limit)
            .await
    }

    async fn requeue(&self, tenant_id: TenantId, event_id: EventId) -> Effect<()> {
        self.client(tenant_id).requeue(tenant_id, event_id).await
    }

    async fn queue_entry(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
    ) -> Effect<Option<QueueEntry>> {
        self.client(tenant_id)
            .queue_entry(tenant_id, event_id)
            .await
    }
}
