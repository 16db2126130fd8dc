//! [`Forgetting`] for [`MemoryDag`]: redaction, chain removal and tenant
//! erasure over the state, each under the store's write lock.

use std::collections::HashSet;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::state::State;
use super::MemoryDag;
use crate::backend::{check_removal, RemovalFacts};
use crate::{
    check_redaction_reason, now_micros, payload_hash, ChainRemoval, Effect, ErrorEffect, Event,
    EventId, Forgetting, Redaction, RetentionPolicy, TenantErasure, TenantId,
};

impl<P: Clone + Serialize + DeserializeOwned> State<P> {
    fn redact(
        &mut self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Result<Event<P>, ErrorEffect> {
        check_redaction_reason(&reason)?;
        let stored = self
            .events
            .get_mut(&event_id)
            .filter(|stored| stored.event.tenant_id == tenant_id)
            .ok_or(ErrorEffect::NotFound { event_id })?;
        if stored.event.redaction.is_none() {
            let empty = Redaction::empty_payload(event_id)?;
            stored.event.redaction = Some(Redaction {
                reason,
                redacted_at: now_micros(),
                payload_hash: payload_hash(&stored.payload_bytes),
            });
            stored.event.payload = empty;
            stored.payload_bytes = Vec::new();
        }
        Ok(stored.event.clone())
    }

    /// The first child of a chain event that belongs to another chain.
    fn outside_child(
        &self,
        ids: &[EventId],
        correlation_id: EventId,
    ) -> Option<(EventId, EventId)> {
        ids.iter().find_map(|parent| {
            let stored = self.events.get(parent)?;
            stored
                .children
                .iter()
                .find(|child| {
                    self.events
                        .get(child)
                        .is_some_and(|c| c.event.header.correlation_id != correlation_id)
                })
                .map(|child| (*child, *parent))
        })
    }

    fn remove_chain(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> ChainRemoval {
        let ids: Vec<EventId> = self
            .correlation
            .get(&(tenant_id, correlation_id))
            .map(|chain| chain.iter().map(|(_, _, _, id)| *id).collect())
            .unwrap_or_default();
        let facts: Vec<RemovalFacts> = ids
            .iter()
            .filter_map(|id| self.events.get(id))
            .map(|stored| RemovalFacts {
                event_id: stored.event.header.event_id,
                timestamp: stored.event.header.timestamp,
                waiting_for_ack: stored.event.header.flags.awaits_ack(),
            })
            .collect();
        let outside = self.outside_child(&ids, correlation_id);
        if let Err(reason) = check_removal(&facts, outside, older_than) {
            return ChainRemoval::Kept { reason };
        }
        let removed: HashSet<EventId> = ids.iter().copied().collect();
        for id in &ids {
            self.remove_event(*id, &removed);
        }
        self.correlation.remove(&(tenant_id, correlation_id));
        self.chains.remove(&(tenant_id, correlation_id));
        ChainRemoval::Removed { events: ids.len() }
    }

    /// Removes one event of a chain being removed (`removing`): its
    /// indexes, its place among outside parents' children, the signals
    /// it sent and its queue state. Its log cursor stays a gap.
    fn remove_event(&mut self, event_id: EventId, removing: &HashSet<EventId>) {
        let Some(stored) = self.events.remove(&event_id) else {
            return;
        };
        let event = &stored.event;
        for parent in event.parents.iter().filter(|p| !removing.contains(p)) {
            if let Some(parent) = self.events.get_mut(parent) {
                parent.children.retain(|child| *child != event_id);
            }
        }
        self.by_kind.remove(&super::state::kind_key(event));
        self.unacked.remove(&(event.header.timestamp, event_id));
        self.queue.forget(event_id);
        if let Some(indexes) = self.signals_by_event.remove(&event_id) {
            if let Some(log) = self.tenants.get_mut(&event.tenant_id) {
                for index in indexes {
                    let sent_by_it = log
                        .signals
                        .get(index)
                        .and_then(Option::as_ref)
                        .is_some_and(|signal| signal.from == event_id);
                    if sent_by_it {
                        if let Some(slot) = log.signals.get_mut(index) {
                            *slot = None;
                        }
                    }
                }
            }
        }
    }

    fn erase_tenant(&mut self, tenant_id: TenantId) -> u64 {
        let ids: Vec<EventId> = self
            .events
            .iter()
            .filter(|(_, stored)| stored.event.tenant_id == tenant_id)
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            if let Some(stored) = self.events.remove(id) {
                self.by_kind.remove(&super::state::kind_key(&stored.event));
                self.unacked.remove(&(stored.event.header.timestamp, *id));
            }
            self.signals_by_event.remove(id);
            self.queue.forget(*id);
        }
        self.next_sequence
            .retain(|(tenant, _), _| *tenant != tenant_id);
        self.chains.retain(|(tenant, _), _| *tenant != tenant_id);
        self.correlation
            .retain(|(tenant, _), _| *tenant != tenant_id);
        self.tenants.remove(&tenant_id);
        self.retention.remove(&tenant_id);
        ids.len() as u64
    }
}

#[async_trait]
impl<P> Forgetting for MemoryDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn redact(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Effect<Event<P>> {
        self.state
            .write()
            .redact(tenant_id, event_id, reason)
            .into()
    }

    async fn remove_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<ChainRemoval> {
        Effect::Ok(
            self.state
                .write()
                .remove_chain(tenant_id, correlation_id, older_than),
        )
    }

    async fn erase_tenant(&self, tenant_id: TenantId) -> Effect<TenantErasure> {
        let events = self.state.write().erase_tenant(tenant_id);
        let (registered, api_keys) = self.registry.write().remove_tenant(tenant_id);
        Effect::Ok(TenantErasure {
            events,
            api_keys,
            registered,
        })
    }

    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Effect<()> {
        if let Some(policy) = &policy {
            if let Err(error) = policy.check() {
                return Effect::Err(error);
            }
        }
        let mut state = self.state.write();
        match policy {
            Some(policy) => state.retention.insert(tenant_id, policy),
            None => state.retention.remove(&tenant_id),
        };
        Effect::Ok(())
    }

    async fn retention_policies(&self) -> Effect<Vec<(TenantId, RetentionPolicy)>> {
        Effect::Ok(
            self.state
                .read()
                .retention
                .iter()
                .map(|(tenant, policy)| (*tenant, policy.clone()))
                .collect(),
        )
    }
}
