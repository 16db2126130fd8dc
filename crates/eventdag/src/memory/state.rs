//! The in-memory state and the operations on it, run under the store's
//! lock. Every rule of SPEC §3 is written here as plainly as possible: this
//! is the reference the other backends are compared with.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::append_rules::{
    check_chain, check_parents, check_sequence, compare_with_stored, prepare, prepare_assigned,
    seal, AppendLimits, ChainAdmission, ParentView,
};
use crate::walk::{walk, WalkDirection, WalkNode};
use crate::{
    ChainState, ErrorEffect, Event, EventFlags, EventId, EventKind, SignalRecord, StoredRecord,
    TenantId, UpstreamSignal, MAX_CHAIN_EVENTS,
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
    pub(super) signals: Vec<SignalRecord>,
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
}

/// What an append did.
pub(super) enum AppendOutcome {
    /// Stored now.
    Inserted(EventId),
    /// The same event was stored before; nothing changed.
    AlreadyStored(EventId),
    /// The chain is under backpressure; nothing changed.
    Retry(ChainAdmission),
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
        }
    }
}

fn kind_key<P>(event: &Event<P>) -> KindKey {
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

    pub(super) fn record(&self, event_id: EventId) -> Result<StoredRecord, ErrorEffect> {
        let stored = self.get(event_id)?;
        Ok(StoredRecord {
            header: stored.event.header,
            tenant_id: stored.event.tenant_id,
            parents: stored.event.parents.clone(),
            payload_bytes: stored.payload_bytes.clone(),
            hash: stored.event.hash,
        })
    }

    /// Validates and inserts one event (SPEC §3 `append`).
    pub(super) fn append(
        &mut self,
        event: Event<P>,
        limits: AppendLimits,
        now: u64,
        assign_position: bool,
    ) -> Result<AppendOutcome, ErrorEffect> {
        let mut prepared = if assign_position {
            prepare_assigned(event, limits, now)?
        } else {
            prepare(event, limits, now)?
        };
        let event_id = prepared.event.header.event_id;
        if let Some(existing) = self.events.get(&event_id) {
            compare_with_stored(&prepared, &existing.event, &existing.payload_bytes)?;
            return Ok(AppendOutcome::AlreadyStored(event_id));
        }
        let parents: Vec<Option<ParentView>> = prepared
            .event
            .parents
            .iter()
            .map(|id| {
                self.events.get(id).map(|stored| ParentView {
                    id: *id,
                    tenant_id: stored.event.tenant_id,
                    depth: stored.event.header.position.depth,
                    correlation_id: stored.event.header.correlation_id,
                    hash: stored.event.hash,
                })
            })
            .collect();
        check_parents(&mut prepared, &parents)?;
        let tenant_id = prepared.event.tenant_id;
        let chain_key = (tenant_id, prepared.event.header.correlation_id);
        let chain = self.chains.get(&chain_key).cloned().unwrap_or_default();
        if let retry @ ChainAdmission::RetryAfter { .. } = check_chain(&prepared, &chain, now)? {
            return Ok(AppendOutcome::Retry(retry));
        }
        let lane = prepared.event.header.position.lane;
        check_sequence(&mut prepared, self.next_free(tenant_id, lane))?;
        let parents: Vec<ParentView> = parents.into_iter().flatten().collect();
        seal(&mut prepared, &parents);
        self.insert(prepared.event, prepared.payload_bytes);
        Ok(AppendOutcome::Inserted(event_id))
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
        if needs_ack(header.flags) {
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

    /// Sets ACKNOWLEDGED; returns whether it was newly set.
    pub(super) fn acknowledge(&mut self, event_id: EventId) -> Result<bool, ErrorEffect> {
        let stored = self
            .events
            .get_mut(&event_id)
            .ok_or(ErrorEffect::NotFound { event_id })?;
        let header = &mut stored.event.header;
        if header.flags.contains(EventFlags::ACKNOWLEDGED) {
            return Ok(false);
        }
        header.flags.insert(EventFlags::ACKNOWLEDGED);
        self.unacked.remove(&(header.timestamp, event_id));
        Ok(true)
    }

    /// Stores a signal, applies its effect and delivers it to every
    /// ancestor of `from`.
    pub(super) fn signal(
        &mut self,
        from: EventId,
        signal: UpstreamSignal,
        now: u64,
    ) -> Result<(), ErrorEffect> {
        let sender = &self.get(from)?.event;
        let tenant_id = sender.tenant_id;
        let correlation_id = sender.header.correlation_id;
        if let UpstreamSignal::CompensationComplete { event_id } = &signal {
            match self.events.get(event_id) {
                Some(target) if target.event.tenant_id == tenant_id => {}
                _ => {
                    return Err(ErrorEffect::NotFound {
                        event_id: *event_id,
                    })
                }
            }
        }
        let mut delivered_to = self.walk_ids(from, MAX_CHAIN_EVENTS, WalkDirection::Ancestors)?;
        delivered_to.remove(0);
        match &signal {
            UpstreamSignal::Cancel {
                correlation_id,
                reason,
            } => {
                self.chains
                    .entry((tenant_id, *correlation_id))
                    .or_default()
                    .cancelled = Some(reason.clone());
            }
            UpstreamSignal::Backpressure { until } => {
                self.chains
                    .entry((tenant_id, correlation_id))
                    .or_default()
                    .backpressure_until = Some(*until);
            }
            UpstreamSignal::CompensationComplete { event_id } => {
                if let Some(target) = self.events.get_mut(event_id) {
                    target.event.header.flags.insert(EventFlags::COMPENSATED);
                }
            }
            UpstreamSignal::Ack { .. } | UpstreamSignal::ErrorPropagation { .. } => {}
        }
        let log = self.tenants.entry(tenant_id).or_default();
        let index = log.signals.len();
        for id in std::iter::once(from).chain(delivered_to.iter().copied()) {
            self.signals_by_event.entry(id).or_default().push(index);
        }
        log.signals.push(SignalRecord {
            sequence: index as u64 + 1,
            tenant_id,
            from,
            correlation_id,
            signal,
            timestamp: now,
            delivered_to,
        });
        Ok(())
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
                    .filter_map(|index| log.signals.get(*index).cloned())
                    .take(limit)
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// Whether an event with these flags waits in the acknowledgment queue.
pub(super) fn needs_ack(flags: EventFlags) -> bool {
    flags.contains(EventFlags::REQUIRES_ACK) && !flags.contains(EventFlags::ACKNOWLEDGED)
}
