//! The rules of `append` (SPEC §3), each once. Only
//! [`super::append_flow`] runs them, in its one order; backends never call
//! them one by one.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;

use crate::error::sequence_conflict;
use crate::hash::compute_hash;
use crate::id::is_v7;
use crate::store::StoredRecord;
use crate::{
    new_event_id, ChainState, DagPosition, ErrorEffect, Event, EventFlags, EventHash, EventHeader,
    EventId, NewEvent, Placement, TenantId,
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

/// An event that passed every check that needs no storage, with its
/// encoded payload. The append flow completes it in place: position,
/// correlation id and hash — or, for a re-append, the stored header.
#[derive(Debug, Clone)]
pub struct Prepared<P> {
    /// The event as it will be stored: id and timestamp filled in; the
    /// correlation id (when nil), depth, sequence and hash are filled by
    /// the flow.
    pub event: Event<P>,
    /// The payload encoded as JSON: stored, hashed and measured.
    pub payload_bytes: Vec<u8>,
    /// Where the caller placed it.
    pub placement: Placement,
    /// The caller left the correlation id out ("inherit").
    pub correlation_defaulted: bool,
    /// The caller left the timestamp out ("now").
    pub timestamp_defaulted: bool,
    /// The storage-free rule the draft breaks, answered by the flow once
    /// the id is known not to be stored (see [`prepare`]).
    pub refusal: Option<ErrorEffect>,
    /// Set by the flow: the event was stored before (an idempotent
    /// re-append); `event` then carries the stored header and hash.
    pub stored_before: bool,
}

impl<P> Prepared<P> {
    /// The event's id.
    #[must_use]
    pub fn id(&self) -> EventId {
        self.event.header.event_id
    }

    /// What a later event of the same batch sees of this one as a parent.
    pub(crate) fn as_parent(&self) -> ParentView {
        let header = &self.event.header;
        ParentView {
            id: header.event_id,
            tenant_id: self.event.tenant_id,
            depth: header.position.depth,
            lane: header.position.lane,
            correlation_id: header.correlation_id,
            hash: self.event.hash,
        }
    }

    /// This event as a stored record (for a repeat later in its batch).
    pub(crate) fn record(&self) -> StoredRecord {
        StoredRecord {
            header: self.event.header,
            tenant_id: self.event.tenant_id,
            parents: self.event.parents.clone(),
            payload_bytes: self.payload_bytes.clone(),
            hash: self.event.hash,
            hash_version: self.event.hash_version,
            redaction: None,
        }
    }
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
    /// Its lane (a child placed without a lane goes there).
    pub lane: u32,
    /// Its correlation chain.
    pub correlation_id: EventId,
    /// Its stored hash.
    pub hash: EventHash,
}

impl ParentView {
    /// The view of a stored header.
    #[must_use]
    pub fn of(header: &EventHeader, tenant_id: TenantId, hash: EventHash) -> Self {
        Self {
            id: header.event_id,
            tenant_id,
            depth: header.position.depth,
            lane: header.position.lane,
            correlation_id: header.correlation_id,
            hash,
        }
    }
}

/// Refuses a batch larger than [`crate::MAX_BATCH_EVENTS`].
///
/// # Errors
/// [`ErrorEffect::InvalidInput`] naming the size and the maximum.
pub(crate) fn check_batch_size(events: usize) -> Result<(), ErrorEffect> {
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
pub(crate) fn encode_payload<P: Serialize>(
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

fn version_error(field: &str, id: EventId, or_else: &str) -> ErrorEffect {
    ErrorEffect::invalid(
        field,
        format!(
            "{id} is a version {} UUID; accepted: a version 7 UUID{or_else}",
            id.get_version_num()
        ),
    )
}

/// The checks that need no storage, for every caller alike: assigns an
/// id and fills the timestamp; refuses a non-v7 id or correlation id,
/// store-managed and reserved flags, repeated parents and oversized
/// payloads. Encodes the payload once, for storing, hashing and measuring.
///
/// Only a bad id or a payload that cannot be encoded fail here: every
/// other refusal is kept in [`Prepared::refusal`] and answered by the flow
/// after it has compared the event with one stored under the same id —
/// an existing id is checked first (SPEC §3), so that another tenant's id
/// reads as not found whatever else the draft says.
///
/// # Errors
/// [`ErrorEffect::InvalidInput`] for a non-v7 id or an unencodable
/// payload.
pub(crate) fn prepare<P: Serialize>(
    draft: NewEvent<P>,
    limits: AppendLimits,
    now_micros: u64,
) -> Result<Prepared<P>, ErrorEffect> {
    let event_id = match draft.id {
        None => new_event_id(),
        Some(id) if is_v7(&id) => id,
        Some(id) => {
            return Err(version_error(
                "event_id",
                id,
                ", or none to have one assigned",
            ))
        }
    };
    let payload_bytes = encode_payload(event_id, &draft.payload)?;
    let refusal = refusal(&draft, event_id, payload_bytes.len(), limits);
    let payload_size = u32::try_from(payload_bytes.len()).unwrap_or(u32::MAX);
    let position = match draft.placement {
        Placement::Given(position) => position,
        // Depth, sequence (and a lane left out) are the flow's to set.
        Placement::Assigned { lane } => DagPosition::new(0, lane.unwrap_or(0), 0),
    };
    let header = EventHeader::new(
        event_id,
        draft.correlation_id.unwrap_or_default(),
        draft.timestamp.unwrap_or(now_micros),
        position,
        payload_size,
        draft.kind,
        draft.flags,
    );
    Ok(Prepared {
        event: Event::new(header, draft.payload)
            .with_tenant(draft.tenant_id)
            .with_parents(draft.parents),
        payload_bytes,
        placement: draft.placement,
        correlation_defaulted: draft.correlation_id.is_none(),
        timestamp_defaulted: draft.timestamp.is_none(),
        refusal,
        stored_before: false,
    })
}

/// The first storage-free rule `draft` breaks, if any.
fn refusal<P>(
    draft: &NewEvent<P>,
    event_id: EventId,
    payload_len: usize,
    limits: AppendLimits,
) -> Option<ErrorEffect> {
    if let Some(correlation) = draft.correlation_id.filter(|id| !is_v7(id)) {
        return Some(version_error(
            "correlation_id",
            correlation,
            ", or none to inherit the first parent's",
        ));
    }
    let refused = draft.flags & (EventFlags::STORE_MANAGED | EventFlags::RESERVED);
    if !refused.is_empty() {
        let names: Vec<&str> = refused.iter_names().map(|(name, _)| name).collect();
        return Some(ErrorEffect::invalid(
            "flags",
            format!(
                "event {event_id} sets {}, which only the store sets (or which is reserved); accepted: {}",
                names.join(", "),
                EventFlags::accepted_names()
            ),
        ));
    }
    let mut distinct = HashSet::with_capacity(draft.parents.len());
    if let Some(repeated) = draft
        .parents
        .iter()
        .find(|parent| !distinct.insert(**parent))
    {
        return Some(ErrorEffect::invalid(
            "parents",
            format!("event {event_id} names parent {repeated} more than once; each parent must appear once"),
        ));
    }
    if draft.parents.contains(&event_id) {
        return Some(ErrorEffect::invalid(
            "parents",
            format!("event {event_id} names itself as a parent"),
        ));
    }
    let too_large = payload_len > limits.max_payload_bytes || u32::try_from(payload_len).is_err();
    too_large.then_some(ErrorEffect::PayloadTooLarge {
        event_id,
        size: payload_len,
        limit: limits.max_payload_bytes,
    })
}

/// `error` for the draft at `index` of a batch: invalid input names the
/// draft (`[3].flags`), so a caller knows which one to fix.
pub(crate) fn in_batch(error: ErrorEffect, index: usize) -> ErrorEffect {
    match error {
        ErrorEffect::InvalidInput { field, message } => ErrorEffect::InvalidInput {
            field: format!("[{index}].{field}"),
            message,
        },
        other => other,
    }
}

/// Compares a re-appended event with the stored one of the same id (SPEC
/// §3). Another tenant's event is reported as not found, as every read
/// reports it (existence is not leaked). What the caller left out — the
/// correlation id, the timestamp, an assigned depth and sequence, an
/// unnamed lane — matches whatever the store chose; store-managed flags,
/// the payload size and the hash do not count.
///
/// # Errors
/// [`ErrorEffect::NotFound`] for another tenant's id;
/// [`ErrorEffect::IdConflict`] naming the first field that differs.
/// Whether `payload_bytes` is what was stored: the bytes themselves, or
/// for a redacted event the hash the redaction kept of them (so that a
/// producer's retry after a redaction stays idempotent).
fn same_payload(payload_bytes: &[u8], stored: &StoredRecord) -> bool {
    match &stored.redaction {
        Some(redaction) => crate::payload_hash(payload_bytes) == redaction.payload_hash,
        None => payload_bytes == stored.payload_bytes,
    }
}

pub(crate) fn compare_with_stored<P>(
    new: &Prepared<P>,
    stored: &StoredRecord,
) -> Result<(), ErrorEffect> {
    let (a, b) = (&new.event.header, &stored.header);
    if new.event.tenant_id != stored.tenant_id {
        return Err(ErrorEffect::NotFound {
            event_id: a.event_id,
        });
    }
    let position_differs = match new.placement {
        Placement::Given(position) => (position != b.position).then_some("position"),
        Placement::Assigned { lane: Some(lane) } => (lane != b.position.lane).then_some("lane"),
        Placement::Assigned { lane: None } => None,
    };
    let difference = if let Some(field) = position_differs {
        Some(field)
    } else if !new.correlation_defaulted && a.correlation_id != b.correlation_id {
        Some("correlation_id")
    } else if !new.timestamp_defaulted && a.timestamp != b.timestamp {
        Some("timestamp")
    } else if a.event_kind != b.event_kind {
        Some("kind")
    } else if a.flags.difference(EventFlags::STORE_MANAGED)
        != b.flags.difference(EventFlags::STORE_MANAGED)
    {
        Some("flags")
    } else if new.event.parents != stored.parents {
        Some("parents")
    } else if !same_payload(&new.payload_bytes, stored) {
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

/// The lane an event goes on, given its first parent.
pub(crate) fn resolved_lane<P>(prepared: &Prepared<P>, first_parent: Option<&ParentView>) -> u32 {
    match prepared.placement {
        Placement::Given(position) => position.lane,
        Placement::Assigned { lane: Some(lane) } => lane,
        Placement::Assigned { lane: None } => first_parent.map_or(0, |parent| parent.lane),
    }
}

/// The chain an event goes into, given its first parent.
pub(crate) fn resolved_correlation<P>(
    prepared: &Prepared<P>,
    first_parent: Option<&ParentView>,
) -> EventId {
    let header = &prepared.event.header;
    if prepared.correlation_defaulted {
        first_parent.map_or(header.event_id, |parent| parent.correlation_id)
    } else {
        header.correlation_id
    }
}

/// Checks the parents (in the event's order, `None` for one that does not
/// exist): same tenant, depth `1 + max(parent depths)` (0 for a root) —
/// or sets that depth when the position is assigned; settles the lane and
/// a left-out correlation id from the first parent.
pub(crate) fn check_parents<P>(
    prepared: &mut Prepared<P>,
    parents: &[Option<ParentView>],
) -> Result<Vec<ParentView>, ErrorEffect> {
    let event_id = prepared.id();
    let mut found = Vec::with_capacity(parents.len());
    for (index, parent) in parents.iter().enumerate() {
        let parent = parent.ok_or_else(|| ErrorEffect::ParentNotFound {
            event_id,
            parent: prepared
                .event
                .parents
                .get(index)
                .copied()
                .unwrap_or_default(),
        })?;
        if parent.tenant_id != prepared.event.tenant_id {
            return Err(ErrorEffect::TenantMismatch {
                event_id,
                parent: parent.id,
                tenant_id: prepared.event.tenant_id,
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
    let lane = resolved_lane(prepared, found.first());
    let correlation = resolved_correlation(prepared, found.first());
    let header = &mut prepared.event.header;
    header.position.lane = lane;
    header.correlation_id = correlation;
    if matches!(prepared.placement, Placement::Assigned { .. }) {
        header.position.depth = expected;
    }
    let actual = header.position.depth;
    if actual != expected {
        return Err(ErrorEffect::InvalidDepth {
            event_id,
            expected,
            actual,
        });
    }
    Ok(found)
}

/// Appends into a chain under backpressure are held: retry after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Time left until the backpressure ends.
    pub after: Duration,
    /// Why, for the caller.
    pub reason: String,
}

impl Held {
    /// What a held append answers: `Effect::Retry` with the time left
    /// (attempt 1; the store knows no bound, so `max_attempts` is 0).
    pub fn into_effect<T>(self) -> crate::Effect<T> {
        crate::Effect::Retry {
            after: self.after,
            attempt: 1,
            max_attempts: 0,
            reason: self.reason,
        }
    }
}

/// Checks the chain state of the event's (settled) correlation chain;
/// `Some` when the append must wait.
pub(crate) fn check_chain<P>(
    prepared: &Prepared<P>,
    state: &ChainState,
    now_micros: u64,
) -> Result<Option<Held>, ErrorEffect> {
    let header = &prepared.event.header;
    if let Some(reason) = &state.cancelled {
        return Err(ErrorEffect::ChainCancelled {
            event_id: header.event_id,
            correlation_id: header.correlation_id,
            reason: reason.clone(),
        });
    }
    Ok(match state.backpressure_until {
        Some(until) if until > now_micros => Some(Held {
            after: Duration::from_micros(until - now_micros),
            reason: format!(
                "correlation chain {} is under backpressure until {until} µs since the epoch",
                header.correlation_id
            ),
        }),
        _ => None,
    })
}

/// Checks that the event takes the next free sequence of its lane — or
/// gives it that sequence when the position is assigned. Returns the
/// lane's next free sequence after it.
pub(crate) fn check_sequence<P>(
    prepared: &mut Prepared<P>,
    next_free: u32,
) -> Result<u32, ErrorEffect> {
    if matches!(prepared.placement, Placement::Assigned { .. }) {
        prepared.event.header.position.sequence = next_free;
    }
    let header = &prepared.event.header;
    if header.position.sequence != next_free {
        return Err(sequence_conflict(
            header.event_id,
            header.position,
            next_free,
        ));
    }
    next_free.checked_add(1).ok_or_else(|| {
        ErrorEffect::invalid(
            "position",
            format!(
                "event {}: lane {} has no sequence left",
                header.event_id, header.position.lane
            ),
        )
    })
}

/// Computes and sets the event's hash from its parents' hashes (in the
/// event's parent order).
pub(crate) fn seal<P>(prepared: &mut Prepared<P>, parents: &[ParentView]) {
    let pairs: Vec<(EventId, EventHash)> = parents.iter().map(|p| (p.id, p.hash)).collect();
    let event = &mut prepared.event;
    event.hash_version = crate::HashVersion::CURRENT;
    event.hash = compute_hash(
        &event.header,
        &event.tenant_id,
        &pairs,
        &prepared.payload_bytes,
    );
}
