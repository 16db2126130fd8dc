//! Operations beside the SPEC §1 trait that every backend implements
//! natively: batch append, tenant-scoped queries, signal listings,
//! resumable cursors and the raw records that verification reads.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{
    ChainState, DagPosition, Effect, Event, EventDag, EventHash, EventHeader, EventId, HashVersion,
    NewEvent, Redaction, SignalRecord, TenantId,
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

/// An event exactly as stored: what hash verification and the re-append
/// comparison read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The stored header.
    pub header: EventHeader,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The parents.
    pub parents: Vec<EventId>,
    /// The payload bytes as stored (JSON); empty when redacted.
    pub payload_bytes: Vec<u8>,
    /// The hash stored at append time.
    pub hash: EventHash,
    /// The rule the hash was computed by.
    pub hash_version: HashVersion,
    /// The redaction mark, with the hash of the removed payload.
    pub redaction: Option<Redaction>,
}

/// The result of verifying events against their stored hashes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Verification {
    /// How many events were checked.
    pub checked: usize,
    /// The first event (in topological order) whose stored bytes no
    /// longer match its hash.
    pub first_mismatch: Option<Mismatch>,
    /// Redacted events checked and found intact (hash version 2: the
    /// hash covers the kept payload hash), in the order checked.
    #[serde(default)]
    pub redacted: Vec<EventId>,
    /// Redacted events of hash version 1, whose own hash covered the
    /// removed bytes and so cannot be checked any more; their
    /// descendants still are, against the stored hash.
    #[serde(default)]
    pub unverifiable: Vec<EventId>,
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
    /// Appends all drafts or none, in one write transaction, and returns
    /// them as stored (ids, positions, correlation ids, timestamps, flags
    /// and hashes filled in; an idempotent re-append answers the event
    /// stored before). Every rule of SPEC §3 is the core's
    /// ([`crate::backend::append_all`]); each draft's [`crate::Placement`]
    /// says whether its position is checked or assigned inside the
    /// transaction. Later drafts may name earlier ones as parents, and
    /// several may take consecutive sequences of one lane. On failure, the
    /// error names the first draft refused; nothing is stored.
    async fn append_events(
        &self,
        drafts: Vec<NewEvent<Self::Payload>>,
    ) -> Effect<Vec<Event<Self::Payload>>>;

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
