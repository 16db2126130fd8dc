//! `--store http://host:port`: the commands over a running server through
//! `eventdag-client`. [`Remote`] is the client plus the one thing the CLI
//! needs that HTTP does not serve, the tenant registry: its calls answer
//! with an error that says where tenants and keys are managed.

use anyhow::{bail, Context};
use eventdag::backend::StoredRecord;
use eventdag::RawJson;
use std::time::Duration;

use eventdag::{
    async_trait, AckLease, ApiKeyRecord, ChainRemoval, ChainState, ClaimRequest, Claimed,
    CursorEvent, DagPosition, DagStore, DeadLetter, Effect, ErrorEffect, Event, EventDag, EventId,
    EventKind, Forgetting, Lease, LeaseRef, NewEvent, QueueEntry, RetentionPolicy, SignalRecord,
    TenantErasure, TenantId, TenantRecord, TenantStore, UpstreamSignal, WorkQueue,
};
use eventdag_client::RemoteDag;

use crate::args::{Command, TenantCommand};

/// The client for `url`, or why this command cannot run on a server.
pub(crate) fn connect(
    url: &str,
    api_key: Option<&str>,
    admin_key: Option<&str>,
    command: &Command,
) -> anyhow::Result<Remote> {
    match command {
        Command::Compact { .. } => bail!(
            "compact works on the embedded store's files: run it on the server's machine with --store lmdb:DIR"
        ),
        Command::Serve(_) => bail!(
            "serve needs a store, not another server: give --store lmdb:DIR, postgres://… or tiered:…"
        ),
        Command::Tenant(TenantCommand::Create { .. } | TenantCommand::List) | Command::Key(_) => bail!(
            "tenants and keys have no HTTP API: run this command with --store naming the server's own store"
        ),
        Command::Import(_) => bail!(
            "import keeps each event's timestamp (its hash covers it), and POST /v1/events takes none: import on the server's store"
        ),
        Command::Export(args) if args.chain.is_none() => bail!(
            "exporting a whole tenant needs its commit-ordered log, which the HTTP API serves only as a live stream: give --chain ID, or export on the server's store"
        ),
        Command::Verify(args) if args.id.is_none() && args.chain.is_none() => bail!(
            "verifying a whole tenant needs its commit-ordered log, which the HTTP API serves only as a live stream: give an event id or --chain ID, or verify on the server's store"
        ),
        _ => {}
    }
    let mut builder = RemoteDag::builder(url);
    if let Some(key) = api_key {
        builder = builder.api_key(key);
    }
    if let Some(key) = admin_key {
        builder = builder.admin_key(key);
    }
    let dag = builder
        .build()
        .with_context(|| format!("cannot use the server at {url}"))?;
    Ok(Remote(dag))
}

/// A server as the CLI's store.
pub(crate) struct Remote(RemoteDag<RawJson>);

#[async_trait]
impl EventDag for Remote {
    type Payload = RawJson;

    async fn append(&self, event: Event<RawJson>) -> Effect<EventId> {
        self.0.append(event).await
    }

    async fn read(&self, event_id: EventId) -> Effect<Event<RawJson>> {
        self.0.read(event_id).await
    }

    async fn walk_ancestors(&self, from: EventId, limit: usize) -> Effect<Vec<Event<RawJson>>> {
        self.0.walk_ancestors(from, limit).await
    }

    async fn walk_descendants(&self, from: EventId, limit: usize) -> Effect<Vec<Event<RawJson>>> {
        self.0.walk_descendants(from, limit).await
    }

    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()> {
        self.0.signal_upstream(from, signal).await
    }

    async fn find_correlation_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<RawJson>>> {
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
    ) -> Effect<Vec<Event<RawJson>>> {
        self.0.find_by_kind(kind, min_depth, max_depth, limit).await
    }

    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()> {
        self.0.acknowledge(event_id, send_upstream).await
    }

    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<RawJson>>> {
        self.0.unacknowledged(limit).await
    }

    async fn find_by_kind_for_tenant(
        &self,
        tenant_id: TenantId,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<RawJson>>> {
        self.0
            .find_by_kind_for_tenant(tenant_id, kind, min_depth, max_depth, limit)
            .await
    }
}

#[async_trait]
impl DagStore for Remote {
    async fn append_events(&self, drafts: Vec<NewEvent<RawJson>>) -> Effect<Vec<Event<RawJson>>> {
        self.0.append_events(drafts).await
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
    ) -> Effect<Vec<Event<RawJson>>> {
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
    ) -> Effect<Vec<CursorEvent<RawJson>>> {
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
impl WorkQueue for Remote {
    async fn claim(&self, request: ClaimRequest) -> Effect<Vec<Claimed<RawJson>>> {
        self.0.claim(request).await
    }

    async fn extend_lease(&self, lease: LeaseRef, duration: Duration) -> Effect<Lease> {
        self.0.extend_lease(lease, duration).await
    }

    async fn release_lease(&self, lease: LeaseRef, delay: Duration) -> Effect<()> {
        self.0.release_lease(lease, delay).await
    }

    async fn acknowledge_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Effect<()> {
        self.0
            .acknowledge_leased(tenant_id, event_id, lease, send_upstream)
            .await
    }

    async fn dead_letters(
        &self,
        tenant_id: TenantId,
        after: Option<EventId>,
        limit: usize,
    ) -> Effect<Vec<DeadLetter<RawJson>>> {
        self.0.dead_letters(tenant_id, after, limit).await
    }

    async fn requeue(&self, tenant_id: TenantId, event_id: EventId) -> Effect<()> {
        self.0.requeue(tenant_id, event_id).await
    }

    async fn queue_entry(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
    ) -> Effect<Option<QueueEntry>> {
        self.0.queue_entry(tenant_id, event_id).await
    }
}

/// The registry lives with the server's store; `connect` refuses the
/// commands that manage it, and nothing else calls these.
/// Forgetting through the server's routes (the key's tenant; erasure
/// with the administrator key).
#[async_trait]
impl Forgetting for Remote {
    async fn redact(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Effect<Event<RawJson>> {
        self.0.redact(tenant_id, event_id, reason).await
    }

    async fn remove_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<ChainRemoval> {
        self.0
            .remove_chain(tenant_id, correlation_id, older_than)
            .await
    }

    async fn erase_tenant(&self, tenant_id: TenantId) -> Effect<TenantErasure> {
        self.0.erase_tenant(tenant_id).await
    }

    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Effect<()> {
        self.0.set_retention_policy(tenant_id, policy).await
    }

    async fn retention_policies(&self) -> Effect<Vec<(TenantId, RetentionPolicy)>> {
        self.0.retention_policies().await
    }
}

impl crate::commands::CliStore for Remote {
    fn remote(&self) -> Option<&RemoteDag<RawJson>> {
        Some(&self.0)
    }
}

#[async_trait]
impl TenantStore for Remote {
    async fn create_tenant(&self, _tenant: TenantRecord) -> Effect<()> {
        Effect::Err(no_registry())
    }

    async fn list_tenants(&self) -> Effect<Vec<TenantRecord>> {
        Effect::Err(no_registry())
    }

    async fn put_api_key(&self, _key: ApiKeyRecord) -> Effect<()> {
        Effect::Err(no_registry())
    }

    async fn find_api_key(&self, _prefix: &str) -> Effect<Option<ApiKeyRecord>> {
        Effect::Err(no_registry())
    }

    async fn list_api_keys(&self) -> Effect<Vec<ApiKeyRecord>> {
        Effect::Err(no_registry())
    }

    async fn revoke_api_key(&self, _prefix: &str) -> Effect<()> {
        Effect::Err(no_registry())
    }
}

fn no_registry() -> ErrorEffect {
    ErrorEffect::invalid(
        "store",
        "tenants and keys have no HTTP API: manage them with --store naming the server's own store",
    )
}
