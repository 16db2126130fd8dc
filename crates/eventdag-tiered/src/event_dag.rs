//! `EventDag` for [`TieredDag`]: writes go to PostgreSQL and then fill the
//! cache; reads follow `reads.rs`.

use eventdag::backend::{capped, single_id};
use eventdag::{
    async_trait, DagPosition, Effect, Event, EventDag, EventFlags, EventId, EventKind, TenantId,
    UpstreamSignal,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::answers::Query;
use crate::TieredDag;

#[async_trait]
impl<P> EventDag for TieredDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Payload = P;

    async fn append(&self, event: Event<P>) -> Effect<EventId> {
        single_id(self.append_through(vec![event.into()]).await)
    }

    async fn read(&self, event_id: EventId) -> Effect<Event<P>> {
        self.read_through(event_id).await
    }

    async fn walk_ancestors(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        self.ancestors_through(from, limit).await
    }

    /// Descendants grow through appends on any node: a remembered answer
    /// is used only while no append to the tenant has been seen since
    /// (`answers.rs`), else one PostgreSQL query.
    async fn walk_descendants(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        let limit = capped(limit);
        self.growing_through(
            Query::Descendants(from),
            limit,
            self.inner.pg.walk_descendants(from, limit),
            |events| events.first().map(|event| event.tenant_id),
        )
        .await
    }

    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()> {
        let compensated = match &signal {
            UpstreamSignal::CompensationComplete { event_id } => Some(*event_id),
            _ => None,
        };
        let result = self.inner.pg.signal_upstream(from, signal).await;
        if let (Effect::Ok(()), Some(event_id)) = (&result, compensated) {
            self.inner
                .cache
                .set_flags(event_id, EventFlags::COMPENSATED);
        }
        result
    }

    /// A chain grows through appends on any node: as `walk_descendants`.
    async fn find_correlation_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<P>>> {
        self.growing_through(
            Query::Chain(tenant_id, correlation_id),
            usize::MAX,
            self.inner
                .pg
                .find_correlation_chain(tenant_id, correlation_id),
            |_| Some(tenant_id),
        )
        .await
    }

    async fn next_position(&self, parent: Option<EventId>, lane: u32) -> Effect<DagPosition> {
        self.inner.pg.next_position(parent, lane).await
    }

    async fn find_by_kind(
        &self,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        self.through(
            self.inner
                .pg
                .find_by_kind(kind, min_depth, max_depth, limit),
        )
        .await
    }

    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()> {
        let result = self.inner.pg.acknowledge(event_id, send_upstream).await;
        if let Effect::Ok(()) = result {
            self.inner
                .cache
                .set_flags(event_id, EventFlags::ACKNOWLEDGED);
        }
        result
    }

    /// Always PostgreSQL: the queue is mutable state.
    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<P>>> {
        self.inner.pg.unacknowledged(limit).await
    }

    async fn find_by_kind_for_tenant(
        &self,
        tenant_id: TenantId,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        self.through(
            self.inner
                .pg
                .find_by_kind_for_tenant(tenant_id, kind, min_depth, max_depth, limit),
        )
        .await
    }
}
