//! `EventDag` and `DagStore` for [`PgDag`]: thin adapters from the
//! `Result`-returning implementations to [`Effect`].

use eventdag::{
    async_trait, single_id, ChainState, CursorEvent, DagPosition, DagStore, Effect, Event,
    EventDag, EventId, EventKind, SignalRecord, StoredRecord, TenantId, UpstreamSignal,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::append::{Appended, Committed};
use crate::reads::Walk;
use crate::PgDag;

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// One event, at the position given or (with `assign_position`) at the
    /// one the transaction assigns.
    async fn append_one(&self, event: Event<P>, assign_position: bool) -> Effect<EventId> {
        single_id(self.append_many(vec![event], assign_position).await)
    }

    /// A batch, all or none, at the positions given or assigned.
    async fn append_many(
        &self,
        events: Vec<Event<P>>,
        assign_position: bool,
    ) -> Effect<Vec<EventId>> {
        self.append_committed(events, assign_position)
            .await
            .map(|committed| committed.ids)
    }

    /// Appends `events` all or none — at the positions they give
    /// (`DagStore::append_batch`), or with `assign_positions` at the ones
    /// the transaction assigns (`DagStore::append_assigned_batch`) — and
    /// also returns the events it inserted, exactly as stored, so that a
    /// cache in front of this store fills itself without reading them
    /// back.
    pub async fn append_committed(
        &self,
        events: Vec<Event<P>>,
        assign_positions: bool,
    ) -> Effect<Committed<P>> {
        let operation = if events.len() == 1 {
            "append"
        } else {
            "append_batch"
        };
        match self
            .bounded(operation, self.append_events(events, assign_positions))
            .await
        {
            Ok(Appended::Stored(committed)) => Effect::Ok(committed),
            Ok(Appended::Retry(admission)) => admission.into_effect(),
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
        self.append_one(event, false).await
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
    async fn append_assigned(&self, event: Event<P>) -> Effect<EventId> {
        self.append_one(event, true).await
    }

    async fn append_batch(&self, events: Vec<Event<P>>) -> Effect<Vec<EventId>> {
        self.append_many(events, false).await
    }

    async fn append_assigned_batch(&self, events: Vec<Event<P>>) -> Effect<Vec<EventId>> {
        self.append_many(events, true).await
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
