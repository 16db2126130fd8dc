//! The in-memory state and the operations on it, run under the store's
//! lock. Every rule of SPEC §3 is written here as plainly as possible: this
//! is the reference the other backends are compared with.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::backend::walk::{walk, WalkDirection, WalkNode};
use crate::backend::{AppendTxn, ParentView, Prepared, SignalTarget, SignalTxn, StoredRecord};
use crate::{
    ChainState, ErrorEffect, Event, EventFlags, EventId, EventKind, SignalRecord, TenantId,
    MAX_CHAIN_EVENTS,
};

/// One stored event with its encoded payload and children.
pub(super) struct StoredEvent<P> {
    pub(super) event: Event<P>,
    pub(super) payload_bytes: Vec<u8>,
    pub(super) children: Vec<EventId>,
}

/// A tenant's commit-ordered logs: cursor `n` is `events[n - 1]`.
#[derive(Default)]
pub(super) struct TenantLog {
    pub(super) events: Vec<EventId>,
    /// Sequence `n` is `signals[n - 1]`; `None` once removed with its
    /// sender's chain.
    pub(super) signals: Vec<Option<SignalRecord>>,
}

type KindKey = (EventKind, u32, u32, u32, TenantId, EventId);
type ChainKey = (TenantId, EventId);

/// The whole store.
pub(super) struct State<P> {
    pub(super) events: HashMap<EventId, StoredEvent<P>>,
    pub(super) next_sequence: HashMap<(TenantId, u32), u32>,
    pub(super) chains: HashMap<ChainKey, ChainState>,
    pub(super) correlation: HashMap<ChainKey, BTreeSet<(u32, u32, u32, EventId)>>,
    pub(super) by_kind: BTreeSet<KindKey>,
    pub(super) unacked: BTreeSet<(u64, EventId)>,
    pub(super) tenants: HashMap<TenantId, TenantLog>,
    /// Signals by the events they were sent from or delivered to, as
    /// indexes into the log of the event's tenant.
    pub(super) signals_by_event: HashMap<EventId, Vec<usize>>,
    /// The work queues' state (`memory/queue.rs`).
    pub(super) queue: super::queue::QueueState,
    /// Retention policies by tenant (`memory/forget.rs`).
    pub(super) retention: std::collections::BTreeMap<TenantId, crate::RetentionPolicy>,
}

impl<P> Default for State<P> {
    fn default() -> Self {
        Self {
            events: HashMap::new(),
            next_sequence: HashMap::new(),
            chains: HashMap::new(),
            correlation: HashMap::new(),
            by_kind: BTreeSet::new(),
            unacked: BTreeSet::new(),
            tenants: HashMap::new(),
            signals_by_event: HashMap::new(),
            queue: super::queue::QueueState::default(),
            retention: std::collections::BTreeMap::new(),
        }
    }
}

pub(super) fn kind_key<P>(event: &Event<P>) -> KindKey {
    let position = event.header.position;
    (
        event.header.event_kind,
        position.depth,
        position.lane,
        position.sequence,
        event.tenant_id,
        event.header.event_id,
    )
}

impl<P: Clone + Serialize> State<P> {
    pub(super) fn get(&self, event_id: EventId) -> Result<&StoredEvent<P>, ErrorEffect> {
        self.events
            .get(&event_id)
            .ok_or(ErrorEffect::NotFound { event_id })
    }

    pub(super) fn next_free(&self, tenant_id: TenantId, lane: u32) -> u32 {
        self.next_sequence
            .get(&(tenant_id, lane))
            .copied()
            .unwrap_or(0)
    }

    fn node(&self, event_id: EventId) -> Option<WalkNode> {
        self.events
            .get(&event_id)
            .map(|stored| (event_id, stored.event.header.position))
    }

    /// Ids of a walk in contract order.
    pub(super) fn walk_ids(
        &self,
        from: EventId,
        limit: usize,
        direction: WalkDirection,
    ) -> Result<Vec<EventId>, ErrorEffect> {
        let start = self
            .node(from)
            .ok_or(ErrorEffect::NotFound { event_id: from })?;
        walk(start, limit, direction, |id| {
            let stored = self.get(id)?;
            let next = match direction {
                WalkDirection::Ancestors => &stored.event.parents,
                WalkDirection::Descendants => &stored.children,
            };
            Ok(next.iter().filter_map(|id| self.node(*id)).collect())
        })
    }

    /// Ids of `kind` with `min_depth <= depth <= max_depth`, by (depth,
    /// lane, sequence, tenant), of one tenant or all; at most `limit`.
    pub(super) fn kind_ids(
        &self,
        tenant: Option<TenantId>,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Vec<EventId> {
        self.by_kind
            .range((kind, min_depth, 0, 0, TenantId::nil(), EventId::nil())..)
            .take_while(|key| key.0 == kind && key.1 <= max_depth)
            .filter(|key| tenant.is_none_or(|tenant| key.4 == tenant))
            .map(|key| key.5)
            .take(limit)
            .collect()
    }

    pub(super) fn events_of(&self, ids: impl IntoIterator<Item = EventId>) -> Vec<Event<P>> {
        ids.into_iter()
            .filter_map(|id| self.events.get(&id).map(|stored| stored.event.clone()))
            .collect()
    }

    pub(super) fn chain_ids(&self, tenant_id: TenantId, correlation_id: EventId) -> Vec<EventId> {
        self.correlation
            .get(&(tenant_id, correlation_id))
            .map(|chain| {
                chain
                    .iter()
                    .take(MAX_CHAIN_EVENTS)
                    .map(|(_, _, _, id)| *id)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn chain(&self, tenant_id: TenantId, correlation_id: EventId) -> ChainState {
        self.chains
            .get(&(tenant_id, correlation_id))
            .cloned()
            .unwrap_or_default()
    }

    pub(super) fn record(&self, event_id: EventId) -> Result<StoredRecord, ErrorEffect> {
        let stored = self.get(event_id)?;
        Ok(StoredRecord {
            header: stored.event.header,
            tenant_id: stored.event.tenant_id,
            parents: stored.event.parents.clone(),
            payload_bytes: stored.payload_bytes.clone(),
            hash: stored.event.hash,
            hash_version: stored.event.hash_version,
            redaction: stored.event.redaction.clone(),
        })
    }

    fn insert(&mut self, event: Event<P>, payload_bytes: Vec<u8>) {
        let header = event.header;
        let id = header.event_id;
        let position = header.position;
        for parent in &event.parents {
            if let Some(stored) = self.events.get_mut(parent) {
                stored.children.push(id);
            }
        }
        self.next_sequence
            .insert((event.tenant_id, position.lane), position.sequence + 1);
        self.correlation
            .entry((event.tenant_id, header.correlation_id))
            .or_default()
            .insert((position.depth, position.lane, position.sequence, id));
        self.by_kind.insert(kind_key(&event));
        if header.flags.awaits_ack() {
            self.unacked.insert((header.timestamp, id));
        }
        self.tenants
            .entry(event.tenant_id)
            .or_default()
            .events
            .push(id);
        self.events.insert(
            id,
            StoredEvent {
                event,
                payload_bytes,
                children: Vec::new(),
            },
        );
    }

    /// Reverses the most recent [`State::insert`] of `id` (batch rollback).
    pub(super) fn remove_last_inserted(&mut self, id: EventId) {
        let Some(stored) = self.events.remove(&id) else {
            return;
        };
        let event = stored.event;
        let header = event.header;
        let position = header.position;
        for parent in &event.parents {
            if let Some(parent) = self.events.get_mut(parent) {
                parent.children.retain(|child| *child != id);
            }
        }
        self.next_sequence
            .insert((event.tenant_id, position.lane), position.sequence);
        if let Some(chain) = self
            .correlation
            .get_mut(&(event.tenant_id, header.correlation_id))
        {
            chain.remove(&(position.depth, position.lane, position.sequence, id));
        }
        self.by_kind.remove(&kind_key(&event));
        self.unacked.remove(&(header.timestamp, id));
        if let Some(log) = self.tenants.get_mut(&event.tenant_id) {
            log.events.pop();
        }
    }

    pub(super) fn signals_of(
        &self,
        event_id: EventId,
        limit: usize,
    ) -> Result<Vec<SignalRecord>, ErrorEffect> {
        let tenant_id = self.get(event_id)?.event.tenant_id;
        let Some(log) = self.tenants.get(&tenant_id) else {
            return Ok(Vec::new());
        };
        Ok(self
            .signals_by_event
            .get(&event_id)
            .map(|indexes| {
                indexes
                    .iter()
                    .filter_map(|index| log.signals.get(*index).cloned().flatten())
                    .take(limit)
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The append flow's primitives over the state, under its write lock.
/// The state has no transactions: the events inserted are remembered so
/// that a refused batch can be taken out again, newest first.
pub(super) struct MemoryTxn<'a, P> {
    pub(super) state: &'a mut State<P>,
    pub(super) inserted: Vec<EventId>,
}

impl<P: Clone + Serialize> MemoryTxn<'_, P> {
    /// Takes out what this transaction inserted.
    pub(super) fn roll_back(self) {
        for id in self.inserted.into_iter().rev() {
            self.state.remove_last_inserted(id);
        }
    }
}

impl<P: Clone + Serialize> AppendTxn<P> for MemoryTxn<'_, P> {
    type Error = ErrorEffect;

    fn stored(&mut self, id: EventId) -> Result<Option<StoredRecord>, ErrorEffect> {
        Ok(self.state.record(id).ok())
    }

    fn parent(&mut self, id: EventId) -> Result<Option<ParentView>, ErrorEffect> {
        Ok(self.state.events.get(&id).map(|stored| {
            ParentView::of(
                &stored.event.header,
                stored.event.tenant_id,
                stored.event.hash,
            )
        }))
    }

    fn chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, ErrorEffect> {
        Ok(self.state.chain(tenant_id, correlation_id))
    }

    fn next_sequence(&mut self, tenant_id: TenantId, lane: u32) -> Result<u32, ErrorEffect> {
        Ok(self.state.next_free(tenant_id, lane))
    }

    fn insert(&mut self, event: &Prepared<P>) -> Result<(), ErrorEffect> {
        self.inserted.push(event.id());
        self.state
            .insert(event.event.clone(), event.payload_bytes.clone());
        Ok(())
    }
}

/// The signal flow's primitives over the state, under its write lock.
impl<P: Clone + Serialize> SignalTxn for State<P> {
    type Error = ErrorEffect;

    fn target(&mut self, id: EventId) -> Result<Option<SignalTarget>, ErrorEffect> {
        Ok(self.events.get(&id).map(|stored| SignalTarget {
            tenant_id: stored.event.tenant_id,
            correlation_id: stored.event.header.correlation_id,
            flags: stored.event.header.flags,
        }))
    }

    fn ancestors(&mut self, from: EventId) -> Result<Vec<EventId>, ErrorEffect> {
        let mut ids = self.walk_ids(from, MAX_CHAIN_EVENTS, WalkDirection::Ancestors)?;
        ids.remove(0);
        Ok(ids)
    }

    fn chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, ErrorEffect> {
        Ok(self.chain(tenant_id, correlation_id))
    }

    fn put_chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
        state: &ChainState,
    ) -> Result<(), ErrorEffect> {
        self.chains
            .insert((tenant_id, correlation_id), state.clone());
        Ok(())
    }

    fn add_flag(&mut self, event_id: EventId, flag: EventFlags) -> Result<(), ErrorEffect> {
        let stored = self
            .events
            .get_mut(&event_id)
            .ok_or(ErrorEffect::NotFound { event_id })?;
        let header = &mut stored.event.header;
        header.flags.insert(flag);
        if flag.contains(EventFlags::ACKNOWLEDGED) {
            self.unacked.remove(&(header.timestamp, event_id));
        }
        Ok(())
    }

    fn take_signal_sequence(&mut self, tenant_id: TenantId) -> Result<u64, ErrorEffect> {
        let log = self.tenants.entry(tenant_id).or_default();
        Ok(log.signals.len() as u64 + 1)
    }

    fn insert_signal(&mut self, record: &SignalRecord) -> Result<(), ErrorEffect> {
        let log = self.tenants.entry(record.tenant_id).or_default();
        let index = log.signals.len();
        for id in std::iter::once(record.from).chain(record.delivered_to.iter().copied()) {
            self.signals_by_event.entry(id).or_default().push(index);
        }
        log.signals.push(Some(record.clone()));
        Ok(())
    }
}
