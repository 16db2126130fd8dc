//! Work queues of [`TieredDag`]: all through PostgreSQL. Queue state is
//! mutable and shared by every node (SPEC §9: one clock, the database's),
//! so none of it is cached; a leased acknowledgment sets the flag in this
//! node's cache as `acknowledge` does, and reaches the other nodes'
//! caches through the change log like any acknowledgment.

use std::time::Duration;

use async_trait::async_trait;
use eventdag::{
    AckLease, ClaimRequest, Claimed, DeadLetter, Effect, EventFlags, EventId, Lease, LeaseRef,
    QueueEntry, TenantId, WorkQueue,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::TieredDag;

#[async_trait]
impl<P> WorkQueue for TieredDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn claim(&self, request: ClaimRequest) -> Effect<Vec<Claimed<P>>> {
        self.inner.pg.claim(request).await
    }

    async fn extend_lease(&self, lease: LeaseRef, duration: Duration) -> Effect<Lease> {
        self.inner.pg.extend_lease(lease, duration).await
    }

    async fn release_lease(&self, lease: LeaseRef, delay: Duration) -> Effect<()> {
        self.inner.pg.release_lease(lease, delay).await
    }

    async fn acknowledge_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Effect<()> {
        let result = self
            .inner
            .pg
            .acknowledge_leased(tenant_id, event_id, lease, send_upstream)
            .await;
        if let Effect::Ok(()) = result {
            self.inner
                .cache
                .set_flags(event_id, EventFlags::ACKNOWLEDGED);
        }
        result
    }

    async fn dead_letters(
        &self,
        tenant_id: TenantId,
        after: Option<EventId>,
        limit: usize,
    ) -> Effect<Vec<DeadLetter<P>>> {
        self.inner.pg.dead_letters(tenant_id, after, limit).await
    }

    async fn requeue(&self, tenant_id: TenantId, event_id: EventId) -> Effect<()> {
        self.inner.pg.requeue(tenant_id, event_id).await
    }

    async fn queue_entry(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
    ) -> Effect<Option<QueueEntry>> {
        self.inner.pg.queue_entry(tenant_id, event_id).await
    }
}
