//! The validation rules of `append` (SPEC §3), shared by every backend so
//! that all of them accept and refuse exactly the same events.
//!
//! A backend runs them inside its write transaction in this order:
//! [`prepare`] (no storage needed), then — with what it read —
//! [`compare_with_stored`] when the id exists, [`check_parents`],
//! [`check_chain`], [`check_sequence`], and finally [`seal`] to compute the
//! hash before writing.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;

use crate::hash::compute_hash;
use crate::{
    is_v7, new_event_id, sequence_conflict, ChainState, ErrorEffect, Event, EventFlags, EventHash,
    EventId, TenantId,
};

/// Default maximum encoded payload size: 1 MiB.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Limits that validation enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendLimits {
    /// Largest accepted encoded payload, in bytes.
    pub max_payload_bytes: usize,
}

impl Default for AppendLimits {
    fn default() -> Self {
        Self {
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        }
    }
}

/// An event that passed the checks that need no storage, with its encoded
/// payload. `event` has its id and timestamp filled in; its correlation id
/// is filled by [`check_parents`].
#[derive(Debug, Clone)]
pub struct PreparedAppend<P> {
    /// The event as it will be stored (hash still unset).
    pub event: Event<P>,
    /// The payload encoded as JSON: stored, hashed and measured.
    pub payload_bytes: Vec<u8>,
    /// The caller left the correlation id nil ("inherit").
    pub correlation_defaulted: bool,
    /// The caller left the timestamp 0 ("now").
    pub timestamp_defaulted: bool,
    /// The store assigns depth and sequence inside its write transaction
    /// ([`crate::DagStore::append_assigned`]): [`check_parents`] sets the
    /// depth the parents imply and [`check_sequence`] the lane's next free
    /// sequence instead of checking the ones given.
    pub position_assigned: bool,
}

/// What validation needs to know of a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentView {
    /// The parent's id.
    pub id: EventId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its depth.
    pub depth: u32,
    /// Its correlation chain.
    pub correlation_id: EventId,
    /// Its stored hash.
    pub hash: EventHash,
}

/// Refuses a batch larger than [`crate::MAX_BATCH_EVENTS`].
///
/// # Errors
/// [`ErrorEffect::InvalidInput`] naming the size and the maximum.
pub fn check_batch_size(events: usize) -> Result<(), ErrorEffect> {
    if events > crate::MAX_BATCH_EVENTS {
        return Err(ErrorEffect::invalid(
            "events",
            format!(
                "a batch of {events} events is too large; at most {} are accepted",
                crate::MAX_BATCH_EVENTS
            ),
        ));
    }
    Ok(())
}

/// Encodes a payload the way every store stores and hashes it: JSON.
///
/// # Errors
/// [`ErrorEffect::InvalidInput`] when the payload cannot be encoded.
pub fn encode_payload<P: Serialize>(
    event_id: EventId,
    payload: &P,
) -> Result<Vec<u8>, ErrorEffect> {
    serde_json::to_vec(payload).map_err(|err| {
        ErrorEffect::invalid(
            "payload",
            format!("payload of event {event_id} cannot be encoded as JSON: {err}"),
        )
    })
}

/// Checks that need no storage: fills a nil id and a zero timestamp,
/// refuses non-v7 ids, the reserved flag, repeated parents and oversized
/// payloads.
///
/// # Errors
/// The domain error for the first rule broken.
pub fn prepare<P: Serialize>(
    mut event: Event<P>,
    limits: AppendLimits,
    now_micros: u64,
) -> Result<PreparedAppend<P>, ErrorEffect> {
    let header = &mut event.header;
    if header.event_id.is_nil() {
        header.event_id = new_event_id();
    } else if !is_v7(&header.event_id) {
        return Err(ErrorEffect::invalid(
            "event_id",
            format!(
                "{} is a version {} UUID; accepted: a version 7 UUID, or nil to have one assigned",
                header.event_id,
                header.event_id.get_version_num()
            ),
        ));
    }
    let event_id = header.event_id;
    if header.flags.contains(EventFlags::RESERVED) {
        return Err(ErrorEffect::invalid(
            "flags",
            format!(
                "event {event_id} sets the RESERVED flag, which must be clear; accepted: {}",
                EventFlags::accepted_names()
            ),
        ));
    }
    let mut distinct = HashSet::with_capacity(event.parents.len());
    if let Some(repeated) = event
        .parents
        .iter()
        .find(|parent| !distinct.insert(**parent))
    {
        return Err(ErrorEffect::invalid(
            "parents",
            format!("event {event_id} names parent {repeated} more than once; each parent must appear once"),
        ));
    }
    if event.parents.contains(&event_id) {
        return Err(ErrorEffect::invalid(
            "parents",
            format!("event {event_id} names itself as a parent"),
        ));
    }
    let payload_bytes = encode_payload(event_id, &event.payload)?;
    let too_large = ErrorEffect::PayloadTooLarge {
        event_id,
        size: payload_bytes.len(),
        limit: limits.max_payload_bytes,
    };
    if payload_bytes.len() > limits.max_payload_bytes {
        return Err(too_large);
    }
    let header = &mut event.header;
    header.payload_size = u32::try_from(payload_bytes.len()).map_err(|_| too_large)?;
    let timestamp_defaulted = header.timestamp == 0;
    if timestamp_defaulted {
        header.timestamp = now_micros;
    }
    Ok(PreparedAppend {
        correlation_defaulted: header.correlation_id.is_nil(),
        timestamp_defaulted,
        position_assigned: false,
        event,
        payload_bytes,
    })
}

/// [`prepare`] for an append whose depth and sequence the store assigns
/// inside its write transaction.
///
/// # Errors
/// As [`prepare`].
pub fn prepare_assigned<P: Serialize>(
    event: Event<P>,
    limits: AppendLimits,
    now_micros: u64,
) -> Result<PreparedAppend<P>, ErrorEffect> {
    let mut prepared = prepare(event, limits, now_micros)?;
    prepared.position_assigned = true;
    Ok(prepared)
}

/// Compares a re-appended event with the stored one of the same id.
/// Store-managed flags, the payload size and the hash do not count; a nil
/// correlation id or zero timestamp in the new event match whatever the
/// store chose for them, and so do depth and sequence when the store
/// assigns the position (the lane must still match).
///
/// # Errors
/// [`ErrorEffect::IdConflict`] naming the first field that differs.
pub fn compare_with_stored<P>(
    new: &PreparedAppend<P>,
    stored: &Event<P>,
    stored_payload_bytes: &[u8],
) -> Result<(), ErrorEffect> {
    let (a, b) = (&new.event.header, &stored.header);
    let difference = if !new.correlation_defaulted && a.correlation_id != b.correlation_id {
        Some("correlation_id")
    } else if !new.timestamp_defaulted && a.timestamp != b.timestamp {
        Some("timestamp")
    } else if new.position_assigned && a.position.lane != b.position.lane {
        Some("lane")
    } else if !new.position_assigned && a.position != b.position {
        Some("position")
    } else if a.event_kind != b.event_kind {
        Some("kind")
    } else if a.flags.difference(EventFlags::STORE_MANAGED)
        != b.flags.difference(EventFlags::STORE_MANAGED)
    {
        Some("flags")
    } else if new.event.tenant_id != stored.tenant_id {
        Some("tenant_id")
    } else if new.event.parents != stored.parents {
        Some("parents")
    } else if new.payload_bytes != stored_payload_bytes {
        Some("payload")
    } else {
        None
    };
    match difference {
        None => Ok(()),
        Some(field) => Err(ErrorEffect::IdConflict {
            event_id: a.event_id,
            difference: format!("{field} differs"),
        }),
    }
}

/// Checks the parents (in the event's order, `None` for one that does not
/// exist): same tenant, depth `1 + max(parent depths)` (0 for a root) —
/// or sets that depth when the position is assigned; and fills a nil
/// correlation id from the first parent (own id for a root).
///
/// # Errors
/// [`ErrorEffect::ParentNotFound`], [`ErrorEffect::TenantMismatch`] or
/// [`ErrorEffect::InvalidDepth`].
pub fn check_parents<P>(
    prepared: &mut PreparedAppend<P>,
    parents: &[Option<ParentView>],
) -> Result<(), ErrorEffect> {
    let event = &mut prepared.event;
    let event_id = event.header.event_id;
    let mut found = Vec::with_capacity(parents.len());
    for (index, parent) in parents.iter().enumerate() {
        let parent = parent.ok_or_else(|| ErrorEffect::ParentNotFound {
            event_id,
            parent: event.parents.get(index).copied().unwrap_or_default(),
        })?;
        if parent.tenant_id != event.tenant_id {
            return Err(ErrorEffect::TenantMismatch {
                event_id,
                parent: parent.id,
                tenant_id: event.tenant_id,
            });
        }
        found.push(parent);
    }
    let expected = match found.iter().map(|parent| parent.depth).max() {
        None => 0,
        Some(deepest) => deepest.checked_add(1).ok_or_else(|| {
            ErrorEffect::invalid(
                "parents",
                format!("event {event_id}: parent depth at maximum"),
            )
        })?,
    };
    if prepared.position_assigned {
        event.header.position.depth = expected;
    }
    let actual = event.header.position.depth;
    if actual != expected {
        return Err(ErrorEffect::InvalidDepth {
            event_id,
            expected,
            actual,
        });
    }
    if event.header.correlation_id.is_nil() {
        event.header.correlation_id = found.first().map_or(event_id, |first| first.correlation_id);
    }
    Ok(())
}

/// Whether an append may enter its correlation chain now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainAdmission {
    /// The chain takes appends.
    Open,
    /// Under backpressure: retry after this long.
    RetryAfter {
        /// Time left until the backpressure ends.
        after: Duration,
        /// Why, for the caller.
        reason: String,
    },
}

impl ChainAdmission {
    /// What an append held by this admission answers: `Effect::Retry`
    /// with the time left (attempt 1; the store knows no bound, so
    /// `max_attempts` is 0). An open chain is never answered this way; it
    /// maps to [`ErrorEffect::Incomplete`].
    pub fn into_effect<T>(self) -> crate::Effect<T> {
        match self {
            ChainAdmission::RetryAfter { after, reason } => crate::Effect::Retry {
                after,
                attempt: 1,
                max_attempts: 0,
                reason,
            },
            ChainAdmission::Open => crate::Effect::Err(ErrorEffect::Incomplete {
                message: "an open chain was reported as a retry".into(),
            }),
        }
    }
}

/// Checks the chain state of the event's (resolved) correlation chain.
///
/// # Errors
/// [`ErrorEffect::ChainCancelled`] when the chain was cancelled.
pub fn check_chain<P>(
    prepared: &PreparedAppend<P>,
    state: &ChainState,
    now_micros: u64,
) -> Result<ChainAdmission, ErrorEffect> {
    let header = &prepared.event.header;
    if let Some(reason) = &state.cancelled {
        return Err(ErrorEffect::ChainCancelled {
            event_id: header.event_id,
            correlation_id: header.correlation_id,
            reason: reason.clone(),
        });
    }
    match state.backpressure_until {
        Some(until) if until > now_micros => Ok(ChainAdmission::RetryAfter {
            after: Duration::from_micros(until - now_micros),
            reason: format!(
                "correlation chain {} is under backpressure until {until} µs since the epoch",
                header.correlation_id
            ),
        }),
        _ => Ok(ChainAdmission::Open),
    }
}

/// Checks that the event takes the next free sequence of its lane — or
/// gives it that sequence when the position is assigned.
///
/// # Errors
/// [`ErrorEffect::SequenceConflict`] with the expected sequence.
pub fn check_sequence<P>(
    prepared: &mut PreparedAppend<P>,
    next_free: u32,
) -> Result<(), ErrorEffect> {
    if prepared.position_assigned {
        prepared.event.header.position.sequence = next_free;
    }
    let header = &prepared.event.header;
    if header.position.sequence == next_free {
        Ok(())
    } else {
        Err(sequence_conflict(
            header.event_id,
            header.position,
            next_free,
        ))
    }
}

/// Computes and sets the event's hash from its parents' hashes (in the
/// event's parent order).
pub fn seal<P>(prepared: &mut PreparedAppend<P>, parents: &[ParentView]) {
    let pairs: Vec<(EventId, EventHash)> = parents.iter().map(|p| (p.id, p.hash)).collect();
    let event = &mut prepared.event;
    event.hash = compute_hash(
        &event.header,
        &event.tenant_id,
        &pairs,
        &prepared.payload_bytes,
    );
}
