//! Errors: domain errors (the caller's fault, replayable) and operational
//! errors (infrastructure), each naming the event and what was wrong.

use crate::{DagPosition, EventId, TenantId};

/// Whether an error is the caller's fault or the infrastructure's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request was wrong for the current state; retrying it unchanged
    /// gives the same answer.
    Domain,
    /// Storage or infrastructure failed; the same request may succeed later.
    Operational,
}

/// Every error of the EventDag API. Each variant says what the caller
/// should do and which HTTP status the server maps it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorEffect {
    /// The event does not exist (or belongs to another tenant). HTTP 404.
    #[error("event {event_id} not found")]
    NotFound {
        /// The missing event.
        event_id: EventId,
    },
    /// A parent named by an append does not exist. HTTP 404.
    #[error("cannot append event {event_id}: parent {parent} not found")]
    ParentNotFound {
        /// The event being appended.
        event_id: EventId,
        /// The missing parent.
        parent: EventId,
    },
    /// A parent belongs to another tenant. The server reports it as 404 so
    /// that existence does not leak across tenants.
    #[error("cannot append event {event_id}: parent {parent} belongs to another tenant than {tenant_id}")]
    TenantMismatch {
        /// The event being appended.
        event_id: EventId,
        /// The foreign parent.
        parent: EventId,
        /// The tenant of the event being appended.
        tenant_id: TenantId,
    },
    /// The depth is not `1 + max(parent depths)` (0 for a root). HTTP 400.
    #[error("cannot append event {event_id}: depth {actual} is wrong, expected {expected} (0 for a root, else 1 + the deepest parent's depth)")]
    InvalidDepth {
        /// The event being appended.
        event_id: EventId,
        /// The depth its parents imply.
        expected: u32,
        /// The depth it carried.
        actual: u32,
    },
    /// The sequence is not the lane's next free one: another writer got
    /// there first. Re-read `next_position` and retry. HTTP 409.
    #[error("cannot append event {event_id}: sequence {actual} on lane {lane} is taken or skips ahead, the next free sequence is {expected}; re-read next_position and retry")]
    SequenceConflict {
        /// The event being appended.
        event_id: EventId,
        /// The lane.
        lane: u32,
        /// The next free sequence of the lane.
        expected: u32,
        /// The sequence it carried.
        actual: u32,
    },
    /// An event with this id exists with different content. HTTP 409.
    #[error("cannot append event {event_id}: an event with this id already exists with different content ({difference})")]
    IdConflict {
        /// The event id.
        event_id: EventId,
        /// The first field that differs.
        difference: String,
    },
    /// The correlation chain was cancelled. HTTP 409.
    #[error("cannot append event {event_id}: correlation chain {correlation_id} was cancelled: {reason}")]
    ChainCancelled {
        /// The event being appended.
        event_id: EventId,
        /// The cancelled chain.
        correlation_id: EventId,
        /// The reason given by the `Cancel` signal.
        reason: String,
    },
    /// A work-queue call named a lease that is not the event's current
    /// one, or another consumer's valid lease stands in the way of an
    /// acknowledgment (SPEC §9). Claim again, or force. HTTP 409.
    #[error("lease conflict on event {event_id}: {message}")]
    LeaseConflict {
        /// The leased event.
        event_id: EventId,
        /// Whose lease it is now, or what ended it.
        message: String,
    },
    /// The payload is larger than the configured limit. HTTP 413.
    #[error("cannot append event {event_id}: payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The event being appended.
        event_id: EventId,
        /// Encoded payload size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Malformed input: the message says what was wrong and what would be
    /// accepted. HTTP 400.
    #[error("invalid {field}: {message}")]
    InvalidInput {
        /// The field or argument at fault.
        field: String,
        /// What was wrong and what is accepted.
        message: String,
    },
    /// The chain is under backpressure; flattened from `Effect::Retry` by
    /// [`crate::Effect::into_result`]. HTTP 429 with `Retry-After`.
    #[error("retry after {after_micros} µs: {reason}")]
    RetryLater {
        /// How long to wait.
        after_micros: u64,
        /// Why.
        reason: String,
    },
    /// An effect that is not a plain result was turned into one (pending,
    /// compensate or batch). HTTP 409.
    #[error("operation did not complete: {message}")]
    Incomplete {
        /// What the effect was.
        message: String,
    },
    /// The storage could not be reached or refused the operation (server
    /// down, disk or map full, directory locked). Retry later. HTTP 503.
    #[error("storage unavailable during {operation}: {message}")]
    StorageUnavailable {
        /// What was being done.
        operation: String,
        /// What happened and what to do.
        message: String,
    },
    /// The write reached the storage's commit and its answer was lost
    /// (the connection failed during or after COMMIT, or the time bound
    /// passed while it was in flight): it may or may not have taken
    /// effect. The message says how to find out — read `event_id`, or
    /// retry with the same ids (appends are idempotent) — and a retry
    /// without the ids may store the events twice. HTTP 503 with code
    /// `outcome_unknown`.
    #[error("outcome of {operation} unknown: {message}")]
    OutcomeUnknown {
        /// What was being done.
        operation: String,
        /// The event whose state tells the outcome: the first event an
        /// append inserts (a batch is all or none), the event
        /// acknowledged, the sender of a signal.
        event_id: EventId,
        /// What happened and how to find out.
        message: String,
    },
    /// The operation did not finish in its time bound. HTTP 503.
    #[error("{operation} timed out after {after_ms} ms")]
    Timeout {
        /// What was being done.
        operation: String,
        /// The bound that passed.
        after_ms: u64,
    },
    /// Stored data could not be decoded or failed verification. HTTP 500.
    #[error("stored data is corrupt{}: {message}", event_id.map(|id| format!(" at event {id}")).unwrap_or_default())]
    Corruption {
        /// The event concerned, when known.
        event_id: Option<EventId>,
        /// What was found.
        message: String,
    },
}

impl ErrorEffect {
    /// Domain (the caller's fault) or operational (infrastructure).
    #[must_use]
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::StorageUnavailable { .. }
            | Self::OutcomeUnknown { .. }
            | Self::Timeout { .. }
            | Self::Corruption { .. } => ErrorClass::Operational,
            _ => ErrorClass::Domain,
        }
    }

    /// Whether the caller's request was at fault.
    #[must_use]
    pub fn is_domain(&self) -> bool {
        self.class() == ErrorClass::Domain
    }

    /// Whether infrastructure failed.
    #[must_use]
    pub fn is_operational(&self) -> bool {
        self.class() == ErrorClass::Operational
    }

    /// A stable machine-readable code (`not_found`, `conflict`, …), used in
    /// the HTTP error body.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::ParentNotFound { .. } | Self::TenantMismatch { .. } => {
                "not_found"
            }
            Self::InvalidInput { .. } => "invalid_input",
            Self::InvalidDepth { .. }
            | Self::SequenceConflict { .. }
            | Self::IdConflict { .. }
            | Self::Incomplete { .. } => "conflict",
            Self::ChainCancelled { .. } => "cancelled",
            Self::LeaseConflict { .. } => "lease_conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::RetryLater { .. } => "backpressure",
            Self::StorageUnavailable { .. } => "storage_unavailable",
            Self::OutcomeUnknown { .. } => "outcome_unknown",
            Self::Timeout { .. } => "timeout",
            Self::Corruption { .. } => "corruption",
        }
    }

    /// The event the error is about, when it names one.
    #[must_use]
    pub fn event_id(&self) -> Option<EventId> {
        match self {
            Self::NotFound { event_id }
            | Self::ParentNotFound { event_id, .. }
            | Self::TenantMismatch { event_id, .. }
            | Self::InvalidDepth { event_id, .. }
            | Self::SequenceConflict { event_id, .. }
            | Self::IdConflict { event_id, .. }
            | Self::ChainCancelled { event_id, .. }
            | Self::PayloadTooLarge { event_id, .. }
            | Self::LeaseConflict { event_id, .. }
            | Self::OutcomeUnknown { event_id, .. } => Some(*event_id),
            Self::Corruption { event_id, .. } => *event_id,
            _ => None,
        }
    }

    /// Shorthand for [`ErrorEffect::InvalidInput`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`ErrorEffect::StorageUnavailable`].
    pub fn unavailable(operation: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::StorageUnavailable {
            operation: operation.into(),
            message: message.to_string(),
        }
    }

    /// Shorthand for [`ErrorEffect::Corruption`].
    pub fn corrupt(event_id: Option<EventId>, message: impl std::fmt::Display) -> Self {
        Self::Corruption {
            event_id,
            message: message.to_string(),
        }
    }
}

/// A sequence conflict for `event_id` at `position`.
#[must_use]
pub fn sequence_conflict(event_id: EventId, position: DagPosition, expected: u32) -> ErrorEffect {
    ErrorEffect::SequenceConflict {
        event_id,
        lane: position.lane,
        expected,
        actual: position.sequence,
    }
}
