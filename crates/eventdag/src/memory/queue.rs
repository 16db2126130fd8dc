//! The work queues of [`MemoryDag`]: the core's queue flow over the
//! state, each call under the store's write lock (which is what makes a
//! claim exclusive here).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use super::state::State;
use super::MemoryDag;
use crate::backend::capped;
use crate::backend::queue::{self as flow, QueueTxn, Waiting};
use crate::{
    now_micros, AckLease, ClaimRequest, Claimed, DeadLetter, Effect, ErrorEffect, EventId, Lease,
    LeaseRef, QueueEntry, TenantId, WorkQueue,
};

/// Queue state of every tenant.
#[derive(Default)]
pub(super) struct QueueState {
    entries: HashMap<EventId, QueueEntry>,
    /// (tenant, event) of every dead letter.
    dead: BTreeSet<(TenantId, EventId)>,
}

impl QueueState {
    /// Drops the queue state of a removed event.
    pub(super) fn forget(&mut self, event_id: EventId) {
        if let Some(entry) = self.entries.remove(&event_id) {
            self.dead.remove(&(entry.tenant_id, event_id));
        }
    }
}

impl<P: Clone + Serialize> QueueTxn for State<P> {
    fn waiting(
        &mut self,
        tenant_id: TenantId,
        after: Option<(u64, EventId)>,
        limit: usize,
    ) -> Result<Vec<Waiting>, ErrorEffect> {
        let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        Ok(self
            .unacked
            .range((start, std::ops::Bound::Unbounded))
            .filter_map(|(_, id)| self.events.get(id))
            .filter(|stored| {
                stored.event.tenant_id == tenant_id && stored.event.header.flags.awaits_ack()
            })
            .take(limit)
            .map(|stored| Waiting {
                event_id: stored.event.header.event_id,
                timestamp: stored.event.header.timestamp,
                kind: stored.event.header.event_kind,
                correlation_id: stored.event.header.correlation_id,
            })
            .collect())
    }

    fn entry(&mut self, event_id: EventId) -> Result<Option<QueueEntry>, ErrorEffect> {
        Ok(self.queue.entries.get(&event_id).cloned())
    }

    fn put_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), ErrorEffect> {
        let key = (entry.tenant_id, event_id);
        if entry.dead_lettered_at.is_some() {
            self.queue.dead.insert(key);
        } else {
            self.queue.dead.remove(&key);
        }
        self.queue.entries.insert(event_id, entry.clone());
        Ok(())
    }

    fn remove_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), ErrorEffect> {
        self.queue.dead.remove(&(entry.tenant_id, event_id));
        self.queue.entries.remove(&event_id);
        Ok(())
    }
}

#[async_trait]
impl<P> WorkQueue for MemoryDag<P>
where
    P: Serialize + Clone + Send + Sync + 'static,
{
    async fn claim(&self, request: ClaimRequest) -> Effect<Vec<Claimed<P>>> {
        let mut state = self.state.write();
        let leased = match flow::claim(&mut *state, &request, now_micros()) {
            Ok(leased) => leased,
            Err(error) => return Effect::Err(error),
        };
        Effect::Ok(
            leased
                .into_iter()
                .filter_map(|leased| {
                    state.events.get(&leased.event_id).map(|stored| Claimed {
                        event: stored.event.clone(),
                        attempt: leased.attempt,
                        lease: leased.lease,
                    })
                })
                .collect(),
        )
    }

    async fn extend_lease(&self, lease: LeaseRef, duration: Duration) -> Effect<Lease> {
        flow::extend(&mut *self.state.write(), lease, duration, now_micros()).into()
    }

    async fn release_lease(&self, lease: LeaseRef, delay: Duration) -> Effect<()> {
        flow::release(&mut *self.state.write(), lease, delay, now_micros()).into()
    }

    async fn acknowledge_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Effect<()> {
        flow::acknowledge_leased(
            &mut *self.state.write(),
            Some(tenant_id),
            event_id,
            lease,
            send_upstream,
            now_micros(),
        )
        .map(|_| ())
        .into()
    }

    async fn dead_letters(
        &self,
        tenant_id: TenantId,
        after: Option<EventId>,
        limit: usize,
    ) -> Effect<Vec<DeadLetter<P>>> {
        let state = self.state.read();
        let start = (tenant_id, after.unwrap_or_else(EventId::nil));
        let letters = state
            .queue
            .dead
            .range(start..)
            .take_while(|(tenant, _)| *tenant == tenant_id)
            .filter(|(_, id)| Some(*id) != after)
            .filter_map(|(_, id)| {
                let entry = state.queue.entries.get(id)?;
                let stored = state.events.get(id)?;
                Some(DeadLetter {
                    event: stored.event.clone(),
                    attempts: entry.attempts,
                    dead_lettered_at: entry.dead_lettered_at?,
                    last_consumer: entry.last_consumer.clone(),
                })
            })
            .take(capped(limit))
            .collect();
        Effect::Ok(letters)
    }

    async fn requeue(&self, tenant_id: TenantId, event_id: EventId) -> Effect<()> {
        flow::requeue(&mut *self.state.write(), tenant_id, event_id).into()
    }

    async fn queue_entry(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
    ) -> Effect<Option<QueueEntry>> {
        let state = self.state.read();
        match state.events.get(&event_id) {
            Some(stored) if stored.event.tenant_id == tenant_id => {
                Effect::Ok(state.queue.entries.get(&event_id).cloned())
            }
            _ => Effect::Err(ErrorEffect::NotFound { event_id }),
        }
    }
}
