//! The one work-queue flow (SPEC §9): what a claim, an extension, a
//! release, a leased acknowledgment and a requeue do, decided here over
//! [`QueueTxn`], the primitives a backend answers inside its write
//! transaction. A leased acknowledgment is the signal flow's
//! [`acknowledge`] with the lease check before it and
//! the queue state removed after it, in the same transaction: there is
//! one acknowledgment flow, not two.
//!
//! Invariants every backend keeps by running these functions in one write
//! transaction each:
//! - an event has at most one lease whose deadline is after `now`;
//! - `attempts` counts deliveries and only grows, until a requeue;
//! - a dead-lettered event is never claimed, until a requeue.

use std::time::Duration;

use uuid::Uuid;

use super::signal_flow::{acknowledge, signal, Acknowledged, SignalTxn};
use crate::queue::{check_duration, micros, AckLease, ClaimRequest, Lease, LeaseRef, QueueEntry};
use crate::{ErrorEffect, EventFlags, EventId, EventKind, TenantId, UpstreamSignal};
use crate::{DEAD_LETTER_ERROR_CODE, MAX_CLAIM};

/// An unacknowledged event as the claim scan sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// The event.
    pub event_id: EventId,
    /// Its timestamp: the queue's order is (timestamp, id), as
    /// `unacknowledged`.
    pub timestamp: u64,
    /// Its kind, for the claim's filter.
    pub kind: EventKind,
    /// Its chain, for the claim's filter.
    pub correlation_id: EventId,
}

/// What a backend answers inside its write transaction for the queue
/// flow, beside the signal flow's primitives.
pub trait QueueTxn: SignalTxn {
    /// The tenant's unacknowledged REQUIRES_ACK events after `after` in
    /// (timestamp, id) order; at most `limit`.
    ///
    /// # Errors
    /// A storage failure.
    fn waiting(
        &mut self,
        tenant_id: TenantId,
        after: Option<(u64, EventId)>,
        limit: usize,
    ) -> Result<Vec<Waiting>, Self::Error>;

    /// The queue state of `event_id`, if any.
    ///
    /// # Errors
    /// A storage failure.
    fn entry(&mut self, event_id: EventId) -> Result<Option<QueueEntry>, Self::Error>;

    /// Stores the queue state of `event_id`, and lists it among the
    /// tenant's dead letters exactly when `dead_lettered_at` is set.
    ///
    /// # Errors
    /// A storage failure.
    fn put_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), Self::Error>;

    /// Removes the queue state `entry` of `event_id` (and its dead-letter
    /// listing).
    ///
    /// # Errors
    /// A storage failure.
    fn remove_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), Self::Error>;
}

/// One event a claim leased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The event.
    pub event_id: EventId,
    /// Its delivery, from 1.
    pub attempt: u32,
    /// The new lease.
    pub lease: Lease,
}

/// How many waiting events one scan step reads.
const SCAN_PAGE: usize = 256;

fn lease_conflict(event_id: EventId, message: impl Into<String>) -> ErrorEffect {
    ErrorEffect::LeaseConflict {
        event_id,
        message: message.into(),
    }
}

/// Leases up to `request.limit` waiting events, oldest first; events
/// delivered `max_attempts` times are dead-lettered on the way (with an
/// `ErrorPropagation` signal upstream when asked). Returns the leases in
/// queue order.
///
/// # Errors
/// Invalid input for a bad request; the backend's failure.
pub fn claim<T: QueueTxn>(
    txn: &mut T,
    request: &ClaimRequest,
    now: u64,
) -> Result<Vec<Leased>, T::Error> {
    request.validate()?;
    let limit = request.limit.min(MAX_CLAIM);
    let mut leased = Vec::new();
    let mut after = None;
    while leased.len() < limit {
        let page = txn.waiting(request.tenant_id, after, SCAN_PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some((last.timestamp, last.event_id));
        for waiting in page {
            if leased.len() == limit {
                break;
            }
            if request.kind.is_some_and(|kind| kind != waiting.kind)
                || request
                    .correlation_id
                    .is_some_and(|chain| chain != waiting.correlation_id)
            {
                continue;
            }
            if let Some(lease) = take(txn, request, waiting.event_id, now)? {
                leased.push(lease);
            }
        }
    }
    Ok(leased)
}

/// Leases one waiting event if it is free, or dead-letters it when it has
/// had its deliveries.
fn take<T: QueueTxn>(
    txn: &mut T,
    request: &ClaimRequest,
    event_id: EventId,
    now: u64,
) -> Result<Option<Leased>, T::Error> {
    let mut entry = txn
        .entry(event_id)?
        .unwrap_or_else(|| QueueEntry::fresh(request.tenant_id));
    if entry.dead_lettered_at.is_some() || entry.valid_lease(now).is_some() {
        return Ok(None);
    }
    if entry.available_at > now {
        return Ok(None);
    }
    if entry.attempts >= request.max_attempts {
        entry.dead_lettered_at = Some(now);
        txn.put_entry(event_id, &entry)?;
        if request.signal_dead_letters {
            signal(
                txn,
                event_id,
                dead_letter_signal(event_id, entry.attempts),
                now,
            )?;
        }
        return Ok(None);
    }
    entry.attempts += 1;
    let lease = Lease {
        token: Uuid::now_v7(),
        consumer: request.consumer.clone(),
        deadline: now.saturating_add(micros(request.lease)),
    };
    entry.lease = Some(lease.clone());
    entry.last_consumer = Some(request.consumer.clone());
    entry.available_at = 0;
    txn.put_entry(event_id, &entry)?;
    Ok(Some(Leased {
        event_id,
        attempt: entry.attempts,
        lease,
    }))
}

/// The signal a dead-lettered event sends upstream when the claim asks.
#[must_use]
pub fn dead_letter_signal(event_id: EventId, attempts: u32) -> UpstreamSignal {
    UpstreamSignal::ErrorPropagation {
        source_event_id: event_id,
        error_code: DEAD_LETTER_ERROR_CODE,
        message: format!("dead-lettered after {attempts} deliveries without acknowledgment"),
    }
}

/// The event of a tenant, or not-found.
fn tenant_event<T: SignalTxn>(
    txn: &mut T,
    tenant_id: Option<TenantId>,
    event_id: EventId,
) -> Result<super::SignalTarget, T::Error> {
    match txn.target(event_id)? {
        Some(target) if tenant_id.is_none_or(|tenant| tenant == target.tenant_id) => Ok(target),
        _ => Err(ErrorEffect::NotFound { event_id }.into()),
    }
}

/// The queue state of the lease `lease` while its token is the event's
/// current one.
fn current<T: QueueTxn>(txn: &mut T, lease: LeaseRef) -> Result<QueueEntry, T::Error> {
    let event_id = lease.event_id;
    let target = tenant_event(txn, Some(lease.tenant_id), event_id)?;
    if target.flags.contains(EventFlags::ACKNOWLEDGED) {
        return Err(lease_conflict(event_id, "the event is already acknowledged").into());
    }
    match txn.entry(event_id)? {
        Some(entry) if entry.dead_lettered_at.is_some() => {
            Err(lease_conflict(event_id, "the event was dead-lettered").into())
        }
        Some(entry) => match &entry.lease {
            Some(held) if held.token == lease.token => Ok(entry),
            Some(held) => Err(lease_conflict(
                event_id,
                format!(
                    "the lease {} is no longer the event's: it was claimed again by {:?}",
                    lease.token, held.consumer
                ),
            )
            .into()),
            None => Err(lease_conflict(
                event_id,
                format!("the lease {} was released", lease.token),
            )
            .into()),
        },
        None => Err(lease_conflict(
            event_id,
            format!("the event is not leased (token {})", lease.token),
        )
        .into()),
    }
}

/// Moves the lease's deadline to `now + duration`.
///
/// # Errors
/// Not-found for an unknown or foreign event; a lease conflict when the
/// token is no longer the event's; invalid input for a bad duration.
pub fn extend<T: QueueTxn>(
    txn: &mut T,
    lease: LeaseRef,
    duration: Duration,
    now: u64,
) -> Result<Lease, T::Error> {
    check_duration("lease", duration, false)?;
    let mut entry = current(txn, lease)?;
    let Some(held) = entry.lease.as_mut() else {
        return Err(lease_conflict(lease.event_id, "the event is not leased").into());
    };
    held.deadline = now.saturating_add(micros(duration));
    let extended = held.clone();
    txn.put_entry(lease.event_id, &entry)?;
    Ok(extended)
}

/// Ends the lease; the event is claimable again from `now + delay`.
///
/// # Errors
/// As [`extend`].
pub fn release<T: QueueTxn>(
    txn: &mut T,
    lease: LeaseRef,
    delay: Duration,
    now: u64,
) -> Result<(), T::Error> {
    check_duration("delay", delay, true)?;
    let mut entry = current(txn, lease)?;
    entry.lease = None;
    entry.available_at = now.saturating_add(micros(delay));
    txn.put_entry(lease.event_id, &entry)
}

/// The acknowledgment flow with the queue's lease check: with
/// [`AckLease::Token`], refused while another claim's lease is valid
/// (an expired lease, or none, does not stand in the way: the work is
/// done, and redoing it would be worse). Then
/// [`acknowledge`] runs unchanged, and the event's
/// queue state (dead letter included) is removed. `tenant_id`: the
/// caller's tenant, none for the store-wide SPEC §1 `acknowledge`.
///
/// # Errors
/// Not-found for an unknown or foreign event; a lease conflict; the
/// backend's failure.
pub fn acknowledge_leased<T: QueueTxn>(
    txn: &mut T,
    tenant_id: Option<TenantId>,
    event_id: EventId,
    lease: AckLease,
    send_upstream: bool,
    now: u64,
) -> Result<Acknowledged, T::Error> {
    tenant_event(txn, tenant_id, event_id)?;
    let entry = txn.entry(event_id)?;
    if let (AckLease::Token(token), Some(entry)) = (lease, &entry) {
        if let Some(held) = entry.valid_lease(now).filter(|held| held.token != token) {
            return Err(lease_conflict(
                event_id,
                format!(
                    "{:?} holds the event's lease until {} µs; acknowledge with its token, or force",
                    held.consumer, held.deadline
                ),
            )
            .into());
        }
    }
    let acknowledged = acknowledge(txn, event_id, send_upstream, now)?;
    if let Some(entry) = entry {
        txn.remove_entry(event_id, &entry)?;
    }
    Ok(acknowledged)
}

/// Puts a dead letter back in the queue as if never claimed.
///
/// # Errors
/// Not-found when the event is unknown, foreign, or not a dead letter.
pub fn requeue<T: QueueTxn>(
    txn: &mut T,
    tenant_id: TenantId,
    event_id: EventId,
) -> Result<(), T::Error> {
    tenant_event(txn, Some(tenant_id), event_id)?;
    match txn.entry(event_id)? {
        Some(entry) if entry.dead_lettered_at.is_some() => txn.remove_entry(event_id, &entry),
        _ => Err(ErrorEffect::NotFound { event_id }.into()),
    }
}
