//! The public trait of SPEC §1.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{DagPosition, Effect, Event, EventId, EventKind, UpstreamSignal, MAX_LIMIT};

/// An event-graph store. Every backend implements it with the semantics
/// of SPEC §3; the conformance suite in `eventdag-testkit` checks them.
///
/// Limits above [`MAX_LIMIT`] are capped to it; a limit of 0 returns an
/// empty list.
#[async_trait]
pub trait EventDag: Send + Sync {
    /// The payload type.
    type Payload: Clone + Send + Sync + 'static;

    /// Validates and durably stores an event; returns its id. A chain
    /// under backpressure answers `Effect::Retry`.
    async fn append(&self, event: Event<Self::Payload>) -> Effect<EventId>;

    /// The event, or not-found.
    async fn read(&self, event_id: EventId) -> Effect<Event<Self::Payload>>;

    /// `from`, then its ancestors, each once, depth descending then (lane,
    /// sequence) descending; at most `limit`.
    async fn walk_ancestors(
        &self,
        from: EventId,
        limit: usize,
    ) -> Effect<Vec<Event<Self::Payload>>>;

    /// `from`, then its descendants, each once, depth ascending then (lane,
    /// sequence) ascending; at most `limit`.
    async fn walk_descendants(
        &self,
        from: EventId,
        limit: usize,
    ) -> Effect<Vec<Event<Self::Payload>>>;

    /// Stores `signal` and delivers it to every ancestor of `from`.
    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()>;

    /// Every event of `tenant_id` in chain `correlation_id`, by (depth,
    /// lane, sequence); at most [`crate::MAX_CHAIN_EVENTS`].
    async fn find_correlation_chain(
        &self,
        tenant_id: Uuid,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<Self::Payload>>>;

    /// The position an event appended now under `parent` on `lane` would
    /// take. Reserves nothing.
    async fn next_position(&self, parent: Option<EventId>, lane: u32) -> Effect<DagPosition>;

    /// Events of `kind` with `min_depth <= depth <= max_depth`, by (depth,
    /// lane, sequence, tenant); at most `limit`. Across all tenants.
    async fn find_by_kind(
        &self,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<Self::Payload>>>;

    /// Sets ACKNOWLEDGED (idempotent). With `send_upstream`, the first
    /// acknowledgment also sends `Ack { event_id }` upstream.
    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()>;

    /// Events flagged REQUIRES_ACK and not yet acknowledged, oldest first
    /// (by timestamp, then id); at most `limit`. Across all tenants.
    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<Self::Payload>>>;

    /// [`EventDag::find_by_kind`] within one tenant. The provided version
    /// filters `find_by_kind`; every backend here overrides it natively.
    async fn find_by_kind_for_tenant(
        &self,
        tenant_id: Uuid,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<Self::Payload>>> {
        self.find_by_kind(kind, min_depth, max_depth, MAX_LIMIT)
            .await
            .map(|events| {
                events
                    .into_iter()
                    .filter(|event| event.tenant_id == tenant_id)
                    .take(limit)
                    .collect()
            })
    }
}
