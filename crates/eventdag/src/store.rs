//! Operations beside the SPEC §1 trait that every backend implements
//! natively: batch append, tenant-scoped queries, signal listings,
//! resumable cursors and the raw records that verification reads.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{
    ChainState, DagPosition, Effect, Event, EventDag, EventHash, EventHeader, EventId,
    SignalRecord, TenantId,
};

/// An event with its place in its tenant's commit-ordered log.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorEvent<P> {
    /// Strictly increasing in commit order within the tenant; resume a
    /// stream by passing the last one seen to [`DagStore::events_after`].
    pub cursor: u64,
    /// The event.
    pub event: Event<P>,
}

/// An event exactly as stored: what hash verification reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The stored header.
    pub header: EventHeader,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The parents.
    pub parents: Vec<EventId>,
    /// The payload bytes as stored (JSON).
    pub payload_bytes: Vec<u8>,
    /// The hash stored at append time.
    pub hash: EventHash,
}

/// The result of verifying events against their stored hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// How many events were checked.
    pub checked: usize,
    /// The first event (in topological order) whose stored bytes no
    /// longer match its hash.
    pub first_mismatch: Option<Mismatch>,
}

impl Verification {
    /// Whether every checked event matched.
    #[must_use]
    pub fn is_intact(&self) -> bool {
        self.first_mismatch.is_none()
    }
}

/// An event whose stored bytes do not match its stored hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The event.
    pub event_id: EventId,
    /// The hash stored at append time.
    pub stored: EventHash,
    /// The hash of the bytes stored now.
    pub computed: EventHash,
}

/// Native operations every backend provides beside [`EventDag`].
#[async_trait]
pub trait DagStore: EventDag {
    /// Appends all events or none, in one transaction. Later events may
    /// name earlier ones of the batch as parents, and several may take
    /// consecutive sequences of one lane. On failure, the error names the
    /// first event refused; nothing is stored.
    async fn append_batch(&self, events: Vec<Event<Self::Payload>>) -> Effect<Vec<EventId>>;

    /// Appends `event` at the position the store assigns inside its write
    /// transaction: the depth its parents imply and the next free sequence
    /// of `event.header.position.lane` (the depth and sequence given are
    /// ignored). Concurrent writers never conflict over a sequence.
    /// Everything else is validated as by [`EventDag::append`]; re-appending
    /// the same id with the same content (and lane) is idempotent.
    ///
    /// The provided version is optimistic (read the next position, append,
    /// retry on a conflict); every backend here overrides it natively.
    async fn append_assigned(&self, event: Event<Self::Payload>) -> Effect<EventId> {
        single_id(self.append_assigned_batch(vec![event]).await)
    }

    /// [`DagStore::append_batch`] with every position assigned by the
    /// store inside its write transaction, as [`DagStore::append_assigned`]
    /// assigns one: each event takes the depth its parents imply (earlier
    /// events of the batch included) and the next free sequence of its lane
    /// (consecutive ones for several events of one lane). All or none.
    ///
    /// The provided version is optimistic (work the positions out, append,
    /// retry on a conflict); every backend here overrides it natively.
    async fn append_assigned_batch(
        &self,
        events: Vec<Event<Self::Payload>>,
    ) -> Effect<Vec<EventId>> {
        let mut events = events;
        for event in &mut events {
            if event.header.event_id.is_nil() {
                event.header.event_id = crate::new_event_id();
            }
        }
        let mut attempt = 0;
        loop {
            let placed = match assign_positions(self, events.clone()).await {
                Ok(placed) => placed,
                Err(error) => return Effect::Err(error),
            };
            match self.append_batch(placed).await {
                Effect::Err(crate::ErrorEffect::SequenceConflict { .. })
                    if attempt < crate::MAX_SEQUENCE_RETRIES =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// [`EventDag::next_position`] for a root or parent of `tenant_id`. A
    /// parent of another tenant is not found.
    async fn next_position_for_tenant(
        &self,
        tenant_id: TenantId,
        parent: Option<EventId>,
        lane: u32,
    ) -> Effect<DagPosition>;

    /// [`EventDag::unacknowledged`] within one tenant.
    async fn unacknowledged_for_tenant(
        &self,
        tenant_id: TenantId,
        limit: usize,
    ) -> Effect<Vec<Event<Self::Payload>>>;

    /// Signals sent from `event_id` or delivered to it, by sequence; at
    /// most `limit`. Unknown event: not-found.
    async fn signals_of(&self, event_id: EventId, limit: usize) -> Effect<Vec<SignalRecord>>;

    /// The tenant's signals with `sequence > after`, by sequence; at most
    /// `limit`.
    async fn signals_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<SignalRecord>>;

    /// The tenant's events with `cursor > after`, in commit order; at most
    /// `limit`. A follower that resumes from the last cursor it saw misses
    /// nothing and sees nothing twice.
    async fn events_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<CursorEvent<Self::Payload>>>;

    /// The state signals set on a correlation chain.
    async fn chain_state(&self, tenant_id: TenantId, correlation_id: EventId)
        -> Effect<ChainState>;

    /// Checks that the storage answers (for health checks): `Ok` when a
    /// read round trip succeeds, an operational error otherwise.
    async fn check_health(&self) -> Effect<()>;

    /// The event exactly as stored, payload undecoded.
    async fn stored_record(&self, event_id: EventId) -> Effect<StoredRecord>;

    /// Every stored record of a chain in topological order, payloads
    /// undecoded; at most [`crate::MAX_CHAIN_EVENTS`].
    async fn chain_records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<StoredRecord>>;
}

/// The positions an optimistic [`DagStore::append_assigned_batch`] tries:
/// depths from the parents (read, or earlier in the batch), sequences from
/// each lane's next free one, and an event already stored (a re-append)
/// where it is. A parent that cannot be read is left for `append_batch`
/// to report.
async fn assign_positions<S: DagStore + ?Sized>(
    store: &S,
    mut events: Vec<Event<S::Payload>>,
) -> Result<Vec<Event<S::Payload>>, crate::ErrorEffect> {
    let mut depths: HashMap<EventId, u32> = HashMap::new();
    let mut next: HashMap<(TenantId, u32), u32> = HashMap::new();
    for event in &mut events {
        // A re-append keeps the stored position, so that it is idempotent
        // (another lane is still a conflict, reported by the append).
        if let Effect::Ok(stored) = store.read(event.header.event_id).await {
            if stored.header.position.lane == event.header.position.lane {
                event.header.position = stored.header.position;
                depths.insert(event.header.event_id, stored.header.position.depth);
                continue;
            }
        }
        let mut depth = 0;
        for parent in &event.parents {
            let parent_depth = match depths.get(parent) {
                Some(known) => *known,
                None => match store.read(*parent).await {
                    Effect::Ok(stored) => stored.header.position.depth,
                    _ => break,
                },
            };
            depth = depth.max(parent_depth.saturating_add(1));
        }
        let lane = event.header.position.lane;
        let key = (event.tenant_id, lane);
        let sequence = match next.get(&key) {
            Some(sequence) => *sequence,
            None => {
                store
                    .next_position_for_tenant(event.tenant_id, None, lane)
                    .await
                    .into_result()?
                    .sequence
            }
        };
        event.header.position = DagPosition::new(depth, lane, sequence);
        next.insert(key, sequence.saturating_add(1));
        depths.insert(event.header.event_id, depth);
    }
    Ok(events)
}

/// The id of a one-event batch's answer, for backends that implement
/// single appends as batches of one.
pub fn single_id(result: Effect<Vec<EventId>>) -> Effect<EventId> {
    match result.branch() {
        Ok(ids) => ids.into_iter().next().map_or_else(
            || {
                Effect::Err(crate::ErrorEffect::Incomplete {
                    message: "append stored no event".into(),
                })
            },
            Effect::Ok,
        ),
        Err(effect) => effect,
    }
}
