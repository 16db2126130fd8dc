//! `MemoryDag`: the in-memory reference store. Fast, not persistent; the
//! model the other backends are tested against.

mod forget;
mod queue;
mod state;
mod tenants;

use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use serde::Serialize;

use crate::backend::walk::WalkDirection;
use crate::backend::{
    self, append_all, capped, single_id, stored_events, Admission, AppendLimits, PreparedBatch,
    StoredRecord,
};
use crate::{
    now_micros, ChainState, CursorEvent, DagPosition, DagStore, Effect, ErrorEffect, Event,
    EventDag, EventId, EventKind, NewEvent, SignalRecord, TenantId, UpstreamSignal, DEFAULT_TENANT,
};
use state::{MemoryTxn, State};

/// The in-memory store. Cloning shares the same store.
pub struct MemoryDag<P> {
    state: Arc<RwLock<State<P>>>,
    registry: Arc<RwLock<tenants::Registry>>,
    limits: AppendLimits,
}

impl<P> Clone for MemoryDag<P> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            registry: Arc::clone(&self.registry),
            limits: self.limits,
        }
    }
}

impl<P> Default for MemoryDag<P> {
    fn default() -> Self {
        Self::with_limits(AppendLimits::default())
    }
}

impl<P> MemoryDag<P> {
    /// An empty store with the default limits.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with the given limits.
    #[must_use]
    pub fn with_limits(limits: AppendLimits) -> Self {
        Self {
            state: Arc::new(RwLock::new(State::default())),
            registry: Arc::default(),
            limits,
        }
    }

    /// Replaces the stored payload bytes of an event without updating its
    /// hash, as disk corruption would; returns whether the event exists.
    /// Only for tests of verification.
    #[doc(hidden)]
    pub fn simulate_corruption(&self, event_id: EventId, payload_bytes: Vec<u8>) -> bool {
        match self.state.write().events.get_mut(&event_id) {
            Some(stored) => {
                stored.payload_bytes = payload_bytes;
                true
            }
            None => false,
        }
    }
}

impl<P: Serialize + Clone> MemoryDag<P> {
    /// Runs the append flow over the state under one write lock; a
    /// refused or held batch is taken out again.
    fn append_drafts(&self, drafts: Vec<NewEvent<P>>) -> Effect<Vec<Event<P>>> {
        let now = now_micros();
        let mut batch = match PreparedBatch::new(drafts, self.limits, now) {
            Ok(batch) => batch,
            Err(error) => return Effect::Err(error),
        };
        let mut state = self.state.write();
        let mut txn = MemoryTxn {
            state: &mut state,
            inserted: Vec::new(),
        };
        match append_all(&mut txn, &mut batch, now) {
            Ok(Admission::Admitted) => Effect::Ok(stored_events(batch.into_appended())),
            Ok(Admission::Held(held)) => {
                txn.roll_back();
                held.into_effect()
            }
            Err(error) => {
                txn.roll_back();
                Effect::Err(error)
            }
        }
    }
}

#[async_trait]
impl<P> EventDag for MemoryDag<P>
where
    P: Serialize + Clone + Send + Sync + 'static,
{
    type Payload = P;

    async fn append(&self, event: Event<P>) -> Effect<EventId> {
        single_id(self.append_drafts(vec![event.into()]))
    }

    async fn read(&self, event_id: EventId) -> Effect<Event<P>> {
        self.state
            .read()
            .get(event_id)
            .map(|stored| stored.event.clone())
            .into()
    }

    async fn walk_ancestors(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        let state = self.state.read();
        state
            .walk_ids(from, capped(limit), WalkDirection::Ancestors)
            .map(|ids| state.events_of(ids))
            .into()
    }

    async fn walk_descendants(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        let state = self.state.read();
        state
            .walk_ids(from, capped(limit), WalkDirection::Descendants)
            .map(|ids| state.events_of(ids))
            .into()
    }

    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()> {
        backend::signal(&mut *self.state.write(), from, signal, now_micros())
            .map(|_| ())
            .into()
    }

    async fn find_correlation_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<P>>> {
        let state = self.state.read();
        Effect::Ok(state.events_of(state.chain_ids(tenant_id, correlation_id)))
    }

    async fn next_position(&self, parent: Option<EventId>, lane: u32) -> Effect<DagPosition> {
        let state = self.state.read();
        let (tenant_id, depth) = match parent {
            None => (DEFAULT_TENANT, 0),
            Some(parent) => match state.get(parent) {
                Ok(stored) => (
                    stored.event.tenant_id,
                    stored.event.header.position.depth + 1,
                ),
                Err(error) => return Effect::Err(error),
            },
        };
        Effect::Ok(DagPosition::new(
            depth,
            lane,
            state.next_free(tenant_id, lane),
        ))
    }

    async fn find_by_kind(
        &self,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        let state = self.state.read();
        let ids = state.kind_ids(None, kind, min_depth, max_depth, capped(limit));
        Effect::Ok(state.events_of(ids))
    }

    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()> {
        // The queue's flow with the lease forced: the SPEC §1
        // acknowledgment also ends the event's queue state.
        let mut state = self.state.write();
        backend::queue::acknowledge_leased(
            &mut *state,
            None,
            event_id,
            crate::AckLease::Forced,
            send_upstream,
            now_micros(),
        )
        .map(|_| ())
        .into()
    }

    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<P>>> {
        let state = self.state.read();
        let ids: Vec<EventId> = state
            .unacked
            .iter()
            .map(|(_, id)| *id)
            .take(capped(limit))
            .collect();
        Effect::Ok(state.events_of(ids))
    }

    async fn find_by_kind_for_tenant(
        &self,
        tenant_id: TenantId,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        let state = self.state.read();
        let ids = state.kind_ids(Some(tenant_id), kind, min_depth, max_depth, capped(limit));
        Effect::Ok(state.events_of(ids))
    }
}

#[async_trait]
impl<P> DagStore for MemoryDag<P>
where
    P: Serialize + Clone + Send + Sync + 'static,
{
    async fn append_events(&self, drafts: Vec<NewEvent<P>>) -> Effect<Vec<Event<P>>> {
        self.append_drafts(drafts)
    }

    async fn next_position_for_tenant(
        &self,
        tenant_id: TenantId,
        parent: Option<EventId>,
        lane: u32,
    ) -> Effect<DagPosition> {
        let state = self.state.read();
        let depth = match parent {
            None => 0,
            Some(parent) => match state.get(parent) {
                Ok(stored) if stored.event.tenant_id == tenant_id => {
                    stored.event.header.position.depth + 1
                }
                _ => return Effect::Err(ErrorEffect::NotFound { event_id: parent }),
            },
        };
        Effect::Ok(DagPosition::new(
            depth,
            lane,
            state.next_free(tenant_id, lane),
        ))
    }

    async fn unacknowledged_for_tenant(
        &self,
        tenant_id: TenantId,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        let state = self.state.read();
        let ids: Vec<EventId> = state
            .unacked
            .iter()
            .map(|(_, id)| *id)
            .filter(|id| {
                state.events.get(id).is_some_and(|stored| {
                    stored.event.tenant_id == tenant_id && stored.event.header.flags.awaits_ack()
                })
            })
            .take(capped(limit))
            .collect();
        Effect::Ok(state.events_of(ids))
    }

    async fn signals_of(&self, event_id: EventId, limit: usize) -> Effect<Vec<SignalRecord>> {
        self.state.read().signals_of(event_id, capped(limit)).into()
    }

    async fn signals_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<SignalRecord>> {
        let state = self.state.read();
        let signals = state.tenants.get(&tenant_id).map_or_else(Vec::new, |log| {
            log.signals
                .iter()
                .skip(usize::try_from(after).unwrap_or(usize::MAX))
                .flatten()
                .take(capped(limit))
                .cloned()
                .collect()
        });
        Effect::Ok(signals)
    }

    async fn events_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<CursorEvent<P>>> {
        let state = self.state.read();
        let Some(log) = state.tenants.get(&tenant_id) else {
            return Effect::Ok(Vec::new());
        };
        let skip = usize::try_from(after).unwrap_or(usize::MAX);
        let events = log
            .events
            .iter()
            .enumerate()
            .skip(skip)
            // Removed events leave gaps in the log; a page skips them and
            // is still full when more events follow.
            .filter_map(|(index, id)| {
                state.events.get(id).map(|stored| CursorEvent {
                    cursor: index as u64 + 1,
                    event: stored.event.clone(),
                })
            })
            .take(capped(limit))
            .collect();
        Effect::Ok(events)
    }

    async fn chain_state(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<ChainState> {
        Effect::Ok(
            self.state
                .read()
                .chains
                .get(&(tenant_id, correlation_id))
                .cloned()
                .unwrap_or_default(),
        )
    }

    async fn check_health(&self) -> Effect<()> {
        Effect::Ok(())
    }

    async fn stored_record(&self, event_id: EventId) -> Effect<StoredRecord> {
        self.state.read().record(event_id).into()
    }

    async fn chain_records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<StoredRecord>> {
        let state = self.state.read();
        state
            .chain_ids(tenant_id, correlation_id)
            .into_iter()
            .map(|id| state.record(id))
            .collect::<Result<Vec<_>, _>>()
            .into()
    }
}
