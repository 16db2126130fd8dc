//! Upstream signals: flow from a child back to the producers of its
//! ancestors.

use serde::{Deserialize, Serialize};

use crate::{EventId, TenantId};

/// A signal sent upstream from an event to all of its ancestors.
///
/// JSON: an object tagged by `type`, e.g.
/// `{"type": "backpressure", "until": 1700000000000000}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum UpstreamSignal {
    /// The event was processed.
    Ack {
        /// The acknowledged event.
        event_id: EventId,
    },
    /// Hold appends into the sender's correlation chain until `until`
    /// (µs since the Unix epoch).
    Backpressure {
        /// End of the hold, µs since the Unix epoch.
        until: u64,
    },
    /// Cancel the correlation chain: later appends into it are refused.
    Cancel {
        /// The chain to cancel.
        correlation_id: EventId,
        /// Why, shown to every producer whose append is refused.
        reason: String,
    },
    /// A compensation of `event_id` completed; the store sets COMPENSATED.
    CompensationComplete {
        /// The compensated event.
        event_id: EventId,
    },
    /// An error downstream that producers upstream should know of.
    ErrorPropagation {
        /// Where the error arose.
        source_event_id: EventId,
        /// A producer-defined error code.
        error_code: u32,
        /// A human-readable description.
        message: String,
    },
}

impl UpstreamSignal {
    /// The signal's type name as in JSON (`ack`, `backpressure`, …).
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Ack { .. } => "ack",
            Self::Backpressure { .. } => "backpressure",
            Self::Cancel { .. } => "cancel",
            Self::CompensationComplete { .. } => "compensation_complete",
            Self::ErrorPropagation { .. } => "error_propagation",
        }
    }
}

/// A stored signal and whom it reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalRecord {
    /// Position of the signal in its tenant's signal log, from 1; a
    /// resumable cursor for followers.
    pub sequence: u64,
    /// The tenant of the sender.
    pub tenant_id: TenantId,
    /// The event the signal was sent from.
    pub from: EventId,
    /// The correlation chain of the sender.
    pub correlation_id: EventId,
    /// The signal.
    pub signal: UpstreamSignal,
    /// When it was stored, µs since the Unix epoch.
    pub timestamp: u64,
    /// Every ancestor of `from`, each once, in the order of
    /// `walk_ancestors` (most recent first).
    pub delivered_to: Vec<EventId>,
}

/// The state of a correlation chain set by signals.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChainState {
    /// Set by a `Cancel` signal: the reason. Appends are refused.
    pub cancelled: Option<String>,
    /// Set by the latest `Backpressure` signal: appends get
    /// `Effect::Retry` until this time (µs since the Unix epoch).
    pub backpressure_until: Option<u64>,
}
