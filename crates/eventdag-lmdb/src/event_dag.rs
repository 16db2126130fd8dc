//! `EventDag` (SPEC §1) for `LmdbDag`.

use async_trait::async_trait;
use eventdag::backend::walk::WalkDirection;
use eventdag::backend::{capped, single_id};
use eventdag::{
    DagPosition, Effect, Event, EventDag, EventId, EventKind, TenantId, UpstreamSignal,
    DEFAULT_TENANT, MAX_CHAIN_EVENTS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::keys;
use crate::read;
use crate::writer::Command;
use crate::LmdbDag;

#[async_trait]
impl<P> EventDag for LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Payload = P;

    async fn append(&self, event: Event<P>) -> Effect<EventId> {
        single_id(self.append_drafts(vec![event.into()]).await)
    }

    async fn read(&self, event_id: EventId) -> Effect<Event<P>> {
        self.read_now("read", |txn, dbs| read::event(txn, dbs, &event_id))
            .await
    }

    async fn walk_ancestors(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        self.walk(from, limit, WalkDirection::Ancestors).await
    }

    async fn walk_descendants(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        self.walk(from, limit, WalkDirection::Descendants).await
    }

    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()> {
        self.writer
            .call(|job| Command::Signal(from, signal, job))
            .await
    }

    async fn find_correlation_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<P>>> {
        self.read_blocking("find_correlation_chain", move |txn, dbs| {
            let prefix = keys::correlation_prefix(&tenant_id, &correlation_id).done();
            let ids = read::ids_with_prefix(txn, &dbs.correlation, &prefix, MAX_CHAIN_EVENTS)?;
            read::events(txn, dbs, &ids)
        })
        .await
    }

    async fn next_position(&self, parent: Option<EventId>, lane: u32) -> Effect<DagPosition> {
        self.read_now("next_position", |txn, dbs| {
            let (tenant, depth) = match parent {
                None => (DEFAULT_TENANT, 0),
                Some(parent) => {
                    let view = read::require(txn, dbs, &parent)?;
                    (view.tenant_id(), view.header().position.depth + 1)
                }
            };
            Ok(DagPosition::new(
                depth,
                lane,
                read::next_free(txn, dbs, &tenant, lane)?,
            ))
        })
        .await
    }

    async fn find_by_kind(
        &self,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        self.by_kind(None, kind, (min_depth, max_depth), limit)
            .await
    }

    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()> {
        self.writer
            .call(|job| Command::Acknowledge(event_id, send_upstream, job))
            .await
    }

    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<P>>> {
        let limit = capped(limit);
        self.read_blocking("unacknowledged", move |txn, dbs| {
            let ids = read::ids_with_prefix(txn, &dbs.unacked, &[], limit)?;
            read::events(txn, dbs, &ids)
        })
        .await
    }

    async fn find_by_kind_for_tenant(
        &self,
        tenant_id: TenantId,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        self.by_kind(Some(tenant_id), kind, (min_depth, max_depth), limit)
            .await
    }
}

impl<P> LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn walk(
        &self,
        from: EventId,
        limit: usize,
        direction: WalkDirection,
    ) -> Effect<Vec<Event<P>>> {
        let limit = capped(limit);
        self.read_blocking("walk", move |txn, dbs| match direction {
            WalkDirection::Ancestors => {
                read::decode_all(&read::ancestor_views(txn, dbs, from, limit)?)
            }
            WalkDirection::Descendants => {
                let ids = read::walk_ids(txn, dbs, from, limit, direction)?;
                read::events(txn, dbs, &ids)
            }
        })
        .await
    }

    async fn by_kind(
        &self,
        tenant: Option<TenantId>,
        kind: EventKind,
        depths: (u32, u32),
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        let limit = capped(limit);
        self.read_blocking("find_by_kind", move |txn, dbs| {
            let ids = read::kind_ids(txn, dbs, tenant, kind, depths, limit)?;
            read::events(txn, dbs, &ids)
        })
        .await
    }
}
