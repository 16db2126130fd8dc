//! Work queues (SPEC §9): competing consumers lease a tenant's
//! REQUIRES_ACK events, acknowledge them or let them go, and events that
//! fail too often are dead-lettered. [`WorkQueue`] is the trait beside
//! [`crate::DagStore`]; what a claim, an extension, a release, a leased
//! acknowledgment and a requeue do is the core's
//! ([`crate::backend::queue`]), so that every backend decides the same.
//!
//! One queue per tenant, one group: an acknowledgment is the event's
//! ACKNOWLEDGED flag and its one `Ack` signal upstream (SPEC §3), so a
//! second group could never see an event the first one acknowledged.
//! Fan-out to independent readers is what `events_after` cursors give
//! (see `docs/queues.md`).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DagStore, Effect, ErrorEffect, Event, EventId, EventKind, TenantId};

/// Identifies one delivery of one event: a claim hands out a fresh token,
/// and only its holder extends, releases or acknowledges through it.
pub type LeaseToken = Uuid;

/// The `error_code` of the `ErrorPropagation` signal a dead-lettered
/// event sends upstream (0xDEAD).
pub const DEAD_LETTER_ERROR_CODE: u32 = 0xDEAD;

/// The longest lease (and release delay) a claim may ask for: one day.
pub const MAX_LEASE: Duration = Duration::from_secs(24 * 60 * 60);

/// The most events one claim hands out.
pub const MAX_CLAIM: usize = 1_000;

/// The longest consumer name accepted, in bytes.
pub const MAX_CONSUMER_BYTES: usize = 200;

/// The attempt limit a claim uses unless it names another.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// What a consumer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The tenant whose queue is claimed from.
    pub tenant_id: TenantId,
    /// Who claims: recorded on the lease for listings and dead letters.
    /// Non-empty, at most [`MAX_CONSUMER_BYTES`].
    pub consumer: String,
    /// At most this many events (capped at [`MAX_CLAIM`]); 0 claims none.
    pub limit: usize,
    /// How long each lease lasts, judged by the store's clock; more than
    /// 0 and at most [`MAX_LEASE`].
    pub lease: Duration,
    /// Only events of this kind.
    pub kind: Option<EventKind>,
    /// Only events of this correlation chain.
    pub correlation_id: Option<EventId>,
    /// Deliveries an event gets before it is dead-lettered (at least 1):
    /// an event already delivered this often is dead-lettered by the
    /// next claim that reaches it instead of delivered again.
    pub max_attempts: u32,
    /// Send `ErrorPropagation { error_code: DEAD_LETTER_ERROR_CODE }`
    /// upstream from an event when it is dead-lettered.
    pub signal_dead_letters: bool,
}

impl ClaimRequest {
    /// A claim of up to `limit` events of `tenant_id` by `consumer` for
    /// `lease`, any kind and chain, [`DEFAULT_MAX_ATTEMPTS`], no signal.
    #[must_use]
    pub fn new(
        tenant_id: TenantId,
        consumer: impl Into<String>,
        limit: usize,
        lease: Duration,
    ) -> Self {
        Self {
            tenant_id,
            consumer: consumer.into(),
            limit,
            lease,
            kind: None,
            correlation_id: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            signal_dead_letters: false,
        }
    }

    /// Only events of `kind`.
    #[must_use]
    pub fn kind(mut self, kind: EventKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Only events of the chain `correlation_id`.
    #[must_use]
    pub fn correlation(mut self, correlation_id: EventId) -> Self {
        self.correlation_id = Some(correlation_id);
        self
    }

    /// Dead-letter after `max_attempts` deliveries.
    #[must_use]
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Send `ErrorPropagation` upstream from each event dead-lettered.
    #[must_use]
    pub fn signal_dead_letters(mut self, signal: bool) -> Self {
        self.signal_dead_letters = signal;
        self
    }

    /// Checks the request; the error says what is accepted.
    ///
    /// # Errors
    /// [`ErrorEffect::InvalidInput`] naming the field at fault.
    pub fn validate(&self) -> Result<(), ErrorEffect> {
        if self.consumer.is_empty() || self.consumer.len() > MAX_CONSUMER_BYTES {
            return Err(ErrorEffect::invalid(
                "consumer",
                format!(
                    "is {} bytes long; accepted: a name of 1 to {MAX_CONSUMER_BYTES} bytes",
                    self.consumer.len()
                ),
            ));
        }
        check_duration("lease", self.lease, false)?;
        if self.max_attempts == 0 {
            return Err(ErrorEffect::invalid(
                "max_attempts",
                "is 0; accepted: 1 or more deliveries before an event is dead-lettered",
            ));
        }
        Ok(())
    }
}

/// Checks a lease or delay: at most [`MAX_LEASE`], and more than zero
/// unless `zero_ok`.
///
/// # Errors
/// [`ErrorEffect::InvalidInput`] naming `field`.
pub fn check_duration(field: &str, duration: Duration, zero_ok: bool) -> Result<(), ErrorEffect> {
    if (duration.is_zero() && !zero_ok) || duration > MAX_LEASE {
        let low = if zero_ok { "0" } else { "1 µs" };
        return Err(ErrorEffect::invalid(
            field,
            format!(
                "is {duration:?}; accepted: {low} to {} s",
                MAX_LEASE.as_secs()
            ),
        ));
    }
    Ok(())
}

/// A duration in whole microseconds, saturating.
#[must_use]
pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// A lease: who holds an event and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The token of this delivery.
    pub token: LeaseToken,
    /// Who holds it.
    pub consumer: String,
    /// When it ends, µs since the Unix epoch by the store's clock; from
    /// then on another claim may take the event.
    pub deadline: u64,
}

/// An event's place in its tenant's queue. An event never claimed has
/// none (attempts 0, claimable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The event's tenant.
    pub tenant_id: TenantId,
    /// How many times the event was delivered.
    pub attempts: u32,
    /// The latest lease; it may have expired. None once released.
    pub lease: Option<Lease>,
    /// The consumer of the latest delivery (kept after a release).
    pub last_consumer: Option<String>,
    /// Not claimable before this time (a release with a delay), µs.
    pub available_at: u64,
    /// Set when the event was dead-lettered: when, µs. Cleared by a
    /// requeue.
    pub dead_lettered_at: Option<u64>,
}

impl QueueEntry {
    /// The state of an event never claimed.
    #[must_use]
    pub fn fresh(tenant_id: TenantId) -> Self {
        Self {
            tenant_id,
            attempts: 0,
            lease: None,
            last_consumer: None,
            available_at: 0,
            dead_lettered_at: None,
        }
    }

    /// The lease, if it is still valid at `now`.
    #[must_use]
    pub fn valid_lease(&self, now: u64) -> Option<&Lease> {
        self.lease.as_ref().filter(|lease| lease.deadline > now)
    }
}

/// One event handed out by a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed<P> {
    /// The event.
    pub event: Event<P>,
    /// Which delivery this is, from 1.
    pub attempt: u32,
    /// The lease: its token and deadline.
    pub lease: Lease,
}

/// A dead-lettered event.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter<P> {
    /// The event.
    pub event: Event<P>,
    /// How many times it was delivered.
    pub attempts: u32,
    /// When it was dead-lettered, µs.
    pub dead_lettered_at: u64,
    /// The consumer that held its last lease.
    pub last_consumer: Option<String>,
}

/// Which lease a call is about: an event of a tenant and the token its
/// claim handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseRef {
    /// The tenant (an event of another tenant is not found).
    pub tenant_id: TenantId,
    /// The leased event.
    pub event_id: EventId,
    /// The token of the claim.
    pub token: LeaseToken,
}

/// How an acknowledgment through the queue treats leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckLease {
    /// The caller's claim: refused with [`ErrorEffect::LeaseConflict`]
    /// while another claim's lease on the event is valid.
    Token(LeaseToken),
    /// Acknowledge whoever holds it (an operator, or a producer that
    /// learned out of band). `EventDag::acknowledge` is this.
    Forced,
}

/// Work queues over a store's REQUIRES_ACK events (SPEC §9). Every call
/// is tenant-scoped: an event of another tenant is not found.
#[async_trait]
pub trait WorkQueue: DagStore {
    /// Leases up to `request.limit` of the tenant's unacknowledged
    /// events, oldest first (as `unacknowledged`), that no valid lease
    /// holds, that are not delayed and not dead-lettered, each with its
    /// attempt raised. Events already delivered `max_attempts` times are
    /// dead-lettered instead, in the same transaction.
    async fn claim(&self, request: ClaimRequest) -> Effect<Vec<Claimed<Self::Payload>>>;

    /// Moves the deadline of the lease `lease` to `now + duration`
    /// (heartbeat). Refused with [`ErrorEffect::LeaseConflict`] when the
    /// event has been claimed again since, acknowledged, or
    /// dead-lettered. A lease that expired but was not claimed again may
    /// still be extended.
    async fn extend_lease(&self, lease: LeaseRef, duration: Duration) -> Effect<Lease>;

    /// Ends the lease now; the event becomes claimable again after
    /// `delay` (zero: at once). Its attempt count stays (a release counts
    /// as a delivery). Refused like [`WorkQueue::extend_lease`].
    async fn release_lease(&self, lease: LeaseRef, delay: Duration) -> Effect<()>;

    /// `EventDag::acknowledge` with a lease check, in the same
    /// transaction: with [`AckLease::Token`] it is refused while another
    /// claim's lease is valid. Ends the event's queue state; idempotent.
    async fn acknowledge_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Effect<()>;

    /// The tenant's dead letters, by event id (oldest first), starting
    /// after `after`; at most `limit`.
    async fn dead_letters(
        &self,
        tenant_id: TenantId,
        after: Option<EventId>,
        limit: usize,
    ) -> Effect<Vec<DeadLetter<Self::Payload>>>;

    /// Puts a dead letter back in the queue with its attempts reset to 0.
    /// Not-found for an event that is not a dead letter of the tenant.
    async fn requeue(&self, tenant_id: TenantId, event_id: EventId) -> Effect<()>;

    /// The queue state of an event (none: never claimed, or acknowledged
    /// through the queue). Unknown or foreign event: not-found.
    async fn queue_entry(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
    ) -> Effect<Option<QueueEntry>>;
}
