//! The body of `POST /v1/events/{id}/signals`: an `UpstreamSignal` tagged
//! by `type`. Decoded field by field (not through serde's internally
//! tagged enums, which lose the field's name in their errors).

use eventdag::{EventId, UpstreamSignal};
use serde::Deserialize;

use crate::ApiError;

/// The signal types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SignalType {
    Ack,
    Backpressure,
    Cancel,
    CompensationComplete,
    ErrorPropagation,
}

/// Every field any signal type has.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignalBody {
    #[serde(rename = "type")]
    kind: SignalType,
    event_id: Option<EventId>,
    until: Option<u64>,
    correlation_id: Option<EventId>,
    reason: Option<String>,
    source_event_id: Option<EventId>,
    error_code: Option<u32>,
    message: Option<String>,
}

impl SignalBody {
    /// The signal, refusing missing fields and fields of other types.
    pub(crate) fn into_signal(self) -> Result<UpstreamSignal, ApiError> {
        let present: Vec<&str> = [
            ("event_id", self.event_id.is_some()),
            ("until", self.until.is_some()),
            ("correlation_id", self.correlation_id.is_some()),
            ("reason", self.reason.is_some()),
            ("source_event_id", self.source_event_id.is_some()),
            ("error_code", self.error_code.is_some()),
            ("message", self.message.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let (signal, fields): (Option<UpstreamSignal>, &[&str]) = match self.kind {
            SignalType::Ack => (
                self.event_id
                    .map(|event_id| UpstreamSignal::Ack { event_id }),
                &["event_id"],
            ),
            SignalType::Backpressure => (
                self.until
                    .map(|until| UpstreamSignal::Backpressure { until }),
                &["until"],
            ),
            SignalType::Cancel => (
                self.correlation_id
                    .zip(self.reason)
                    .map(|(correlation_id, reason)| UpstreamSignal::Cancel {
                        correlation_id,
                        reason,
                    }),
                &["correlation_id", "reason"],
            ),
            SignalType::CompensationComplete => (
                self.event_id
                    .map(|event_id| UpstreamSignal::CompensationComplete { event_id }),
                &["event_id"],
            ),
            SignalType::ErrorPropagation => (
                match (self.source_event_id, self.error_code, self.message) {
                    (Some(source_event_id), Some(error_code), Some(message)) => {
                        Some(UpstreamSignal::ErrorPropagation {
                            source_event_id,
                            error_code,
                            message,
                        })
                    }
                    _ => None,
                },
                &["source_event_id", "error_code", "message"],
            ),
        };
        if let Some(extra) = present.iter().find(|name| !fields.contains(name)) {
            return Err(ApiError::bad_request(
                *extra,
                format!(
                    "not a field of this signal type; accepted: type, {}",
                    fields.join(", ")
                ),
            ));
        }
        signal.ok_or_else(|| {
            let missing = fields
                .iter()
                .find(|name| !present.contains(name))
                .copied()
                .unwrap_or("type");
            ApiError::bad_request(
                missing,
                format!(
                    "required by this signal type; it takes: type, {}",
                    fields.join(", ")
                ),
            )
        })
    }
}
