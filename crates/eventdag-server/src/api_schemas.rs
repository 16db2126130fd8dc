//! The shapes of answers as the OpenAPI document describes them (events,
//! positions, errors, signals). Kept apart from the document itself so
//! that the route handlers, which name these in their annotations, and
//! the document, which lists the handlers, do not depend on each other.

use serde::Serialize;
use utoipa::ToSchema;

/// A stored event.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventDoc {
    /// UUID v7.
    id: String,
    /// The owning tenant (nil UUID: the default tenant).
    tenant_id: String,
    /// The correlation chain.
    correlation_id: String,
    /// Parent ids.
    parents: Vec<String>,
    /// µs since the Unix epoch.
    timestamp: u64,
    /// Depth, lane and sequence.
    position: PositionDoc,
    /// Kind 0..=65535.
    kind: u16,
    /// Flag names.
    flags: Vec<String>,
    /// Whether ACKNOWLEDGED is set.
    acknowledged: bool,
    /// Encoded payload size in bytes.
    payload_size: u32,
    /// The payload.
    payload: serde_json::Value,
    /// BLAKE3 hash, 64 hex digits.
    hash: String,
}

/// A position.
#[derive(Serialize, ToSchema)]
pub(crate) struct PositionDoc {
    depth: u32,
    lane: u32,
    sequence: u32,
}

/// An error body.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDoc {
    error: ErrorDetailDoc,
}

/// The inside of an error body.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetailDoc {
    /// Stable code: invalid_input, unauthorized, not_found, conflict,
    /// cancelled, payload_too_large, backpressure, rate_limited,
    /// storage_unavailable, outcome_unknown, timeout, corruption, no_route.
    code: String,
    /// What was wrong, naming the field, and what is accepted.
    message: String,
}

/// An upstream signal, tagged by `type`. Never built: it only describes
/// `eventdag::UpstreamSignal`'s JSON.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum SignalDoc {
    /// Processed.
    Ack { event_id: String },
    /// Hold appends into the sender's chain until `until` (µs).
    Backpressure { until: u64 },
    /// Cancel a chain of the tenant.
    Cancel {
        correlation_id: String,
        reason: String,
    },
    /// Sets COMPENSATED on the event.
    CompensationComplete { event_id: String },
    /// An error downstream.
    ErrorPropagation {
        source_event_id: String,
        error_code: u32,
        message: String,
    },
}

/// A stored signal.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignalRecordDoc {
    /// Position in the tenant's signal log, from 1.
    sequence: u64,
    tenant_id: String,
    /// The sending event.
    from: String,
    correlation_id: String,
    signal: SignalDoc,
    /// µs since the Unix epoch.
    timestamp: u64,
    /// Every ancestor of `from`, most recent first.
    delivered_to: Vec<String>,
}
