//! `EventDag` and `DagStore` for [`PgDag`]: thin adapters from the
//! `Result`-returning implementations to [`Effect`].

use eventdag::backend::{single_id, stored_events, Appended, StoredRecord};
use eventdag::{
    async_trait, ChainState, CursorEvent, DagPosition, DagStore, Effect, Event, EventDag, EventId,
    EventKind, NewEvent, SignalRecord, TenantId, UpstreamSignal,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::append::Outcome;
use crate::commit::CommitWatch;
use crate::reads::Walk;
use crate::PgDag;

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Appends `drafts` all or none (as `DagStore::append_events`) and
    /// returns them as stored with their encoded payloads, so that a cache
    /// in front of this store fills itself without reading them back or
    /// encoding them again.
    pub async fn append_sealed(&self, drafts: Vec<NewEvent<P>>) -> Effect<Vec<Appended<P>>> {
        let operation = if drafts.len() == 1 {
            "append"
        } else {
            "append_batch"
        };
        let watch = std::sync::Arc::new(CommitWatch::default());
        let append = self.append_drafts(operation, &watch, drafts);
        match self.bounded_write(operation, &watch, append).await {
            Ok(Outcome::Stored(appended)) => Effect::Ok(appended),
            Ok(Outcome::Held(held)) => held.into_effect(),
            Err(error) => Effect::Err(error),
        }
    }
}

#[async_trait]
impl<P> EventDag for PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Payload = P;

    async fn append(&self, event: Event<P>) -> Effect<EventId> {
        single_id(
            self.append_sealed(vec![event.into()])
                .await
                .map(stored_events),
        )
    }

    async fn read(&self, event_id: EventId) -> Effect<Event<P>> {
        self.read_event(event_id).await.into()
    }

    async fn walk_ancestors(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        self.walk(from, limit, Walk::Ancestors).await.into()
    }

    async fn walk_descendants(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        self.walk(from, limit, Walk::Descendants).await.into()
    }

    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()> {
        self.signal(from, signal).await.into()
    }

    async fn find_correlation_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<P>>> {
        self.chain(tenant_id, correlation_id).await.into()
    }

    async fn next_position(&self, parent: Option<EventId>, lane: u32) -> Effect<DagPosition> {
        self.position(None, parent, lane).await.into()
    }

    async fn find_by_kind(
        &self,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        self.by_kind(None, kind, min_depth, max_depth, limit)
            .await
            .into()
    }

    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()> {
        self.ack(event_id, send_upstream).await.into()
    }

    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<P>>> {
        self.unacked(None, limit).await.into()
    }

    async fn find_by_kind_for_tenant(
        &self,
        tenant_id: TenantId,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        self.by_kind(Some(tenant_id), kind, min_depth, max_depth, limit)
            .await
            .into()
    }
}

#[async_trait]
impl<P> DagStore for PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn append_events(&self, drafts: Vec<NewEvent<P>>) -> Effect<Vec<Event<P>>> {
        self.append_sealed(drafts).await.map(stored_events)
    }

    async fn next_position_for_tenant(
        &self,
        tenant_id: TenantId,
        parent: Option<EventId>,
        lane: u32,
    ) -> Effect<DagPosition> {
        self.position(Some(tenant_id), parent, lane).await.into()
    }

    async fn unacknowledged_for_tenant(
        &self,
        tenant_id: TenantId,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        self.unacked(Some(tenant_id), limit).await.into()
    }

    async fn signals_of(&self, event_id: EventId, limit: usize) -> Effect<Vec<SignalRecord>> {
        self.signals_for_event(event_id, limit).await.into()
    }

    async fn signals_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<SignalRecord>> {
        self.signals_since(tenant_id, after, limit).await.into()
    }

    async fn events_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<CursorEvent<P>>> {
        self.after(tenant_id, after, limit).await.into()
    }

    async fn chain_state(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<ChainState> {
        self.chain_state_of(tenant_id, correlation_id).await.into()
    }

    async fn check_health(&self) -> Effect<()> {
        self.health().await.into()
    }

    async fn stored_record(&self, event_id: EventId) -> Effect<StoredRecord> {
        self.record(event_id).await.into()
    }

    async fn chain_records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<StoredRecord>> {
        self.records(tenant_id, correlation_id).await.into()
    }
}
