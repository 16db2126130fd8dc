//! Rebuilds the store's [`ErrorEffect`] from the server's error body.
//!
//! The server answers `{"error": {"code", "message"}}` where `message` is
//! the `Display` text of the store's error (SPEC §7), so the variant and
//! its fields can be read back exactly: this module inverts the formats
//! of `eventdag::ErrorEffect`'s `#[error(...)]` attributes. The test below
//! round-trips every variant, so a format changed in the core without
//! changing this file fails the build's tests instead of degrading
//! silently. A message in no known form gives `None` and the caller falls
//! back to the status and code alone.

use eventdag::{ErrorEffect, EventId};

/// The store error the server reported, when its message has a known form.
pub(crate) fn parse(code: &str, message: &str) -> Option<ErrorEffect> {
    match code {
        "not_found" => not_found(message),
        "invalid_input" => {
            let (field, message) = message.strip_prefix("invalid ")?.split_once(": ")?;
            Some(ErrorEffect::invalid(field, message))
        }
        "conflict" => conflict(message),
        "cancelled" => {
            let (event_id, rest) = append_refusal(message)?;
            let rest = rest.strip_prefix("correlation chain ")?;
            let (correlation_id, reason) = rest.split_once(" was cancelled: ")?;
            Some(ErrorEffect::ChainCancelled {
                event_id,
                correlation_id: id(correlation_id)?,
                reason: reason.to_owned(),
            })
        }
        "payload_too_large" => {
            let (event_id, rest) = append_refusal(message)?;
            let rest = rest.strip_prefix("payload of ")?;
            let (size, rest) = rest.split_once(" bytes exceeds the limit of ")?;
            let limit = rest.strip_suffix(" bytes")?;
            Some(ErrorEffect::PayloadTooLarge {
                event_id,
                size: size.parse().ok()?,
                limit: limit.parse().ok()?,
            })
        }
        "storage_unavailable" => {
            let (operation, message) = message
                .strip_prefix("storage unavailable during ")?
                .split_once(": ")?;
            Some(ErrorEffect::unavailable(operation, message))
        }
        "outcome_unknown" => {
            let (operation, message) = message
                .strip_prefix("outcome of ")?
                .split_once(" unknown: ")?;
            // The event whose state tells the outcome is named in the
            // message ("read event …"), not in a field of its own.
            let event_id = first_uuid(message)?;
            Some(ErrorEffect::OutcomeUnknown {
                operation: operation.to_owned(),
                event_id,
                message: message.to_owned(),
            })
        }
        "lease_conflict" => {
            let (event_id, message) = message
                .strip_prefix("lease conflict on event ")?
                .split_once(": ")?;
            Some(ErrorEffect::LeaseConflict {
                event_id: id(event_id)?,
                message: message.to_owned(),
            })
        }
        "timeout" => timeout(message),
        "corruption" => {
            let rest = message.strip_prefix("stored data is corrupt")?;
            if let Some(rest) = rest.strip_prefix(" at event ") {
                let (event_id, message) = rest.split_once(": ")?;
                Some(ErrorEffect::corrupt(Some(id(event_id)?), message))
            } else {
                Some(ErrorEffect::corrupt(None, rest.strip_prefix(": ")?))
            }
        }
        _ => None,
    }
}

fn not_found(message: &str) -> Option<ErrorEffect> {
    if let Some(rest) = message.strip_prefix("event ") {
        let event_id = id(rest.strip_suffix(" not found")?)?;
        return Some(ErrorEffect::NotFound { event_id });
    }
    let (event_id, rest) = append_refusal(message)?;
    let parent = id(rest.strip_prefix("parent ")?.strip_suffix(" not found")?)?;
    Some(ErrorEffect::ParentNotFound { event_id, parent })
}

fn conflict(message: &str) -> Option<ErrorEffect> {
    if let Some(message) = message.strip_prefix("operation did not complete: ") {
        return Some(ErrorEffect::Incomplete {
            message: message.to_owned(),
        });
    }
    let (event_id, rest) = append_refusal(message)?;
    if let Some(rest) = rest.strip_prefix("depth ") {
        let (actual, rest) = rest.split_once(" is wrong, expected ")?;
        let (expected, _) = rest.split_once(' ')?;
        return Some(ErrorEffect::InvalidDepth {
            event_id,
            expected: expected.parse().ok()?,
            actual: actual.parse().ok()?,
        });
    }
    if let Some(rest) = rest.strip_prefix("sequence ") {
        let (actual, rest) = rest.split_once(" on lane ")?;
        let (lane, rest) =
            rest.split_once(" is taken or skips ahead, the next free sequence is ")?;
        let (expected, _) = rest.split_once(';')?;
        return Some(ErrorEffect::SequenceConflict {
            event_id,
            lane: lane.parse().ok()?,
            expected: expected.parse().ok()?,
            actual: actual.parse().ok()?,
        });
    }
    let difference = rest
        .strip_prefix("an event with this id already exists with different content (")?
        .strip_suffix(')')?;
    Some(ErrorEffect::IdConflict {
        event_id,
        difference: difference.to_owned(),
    })
}

fn timeout(message: &str) -> Option<ErrorEffect> {
    // The server's own request time limit, or a store's.
    let (operation, rest) = match message.strip_prefix("request did not finish within ") {
        Some(rest) => ("request", rest),
        None => message.split_once(" timed out after ")?,
    };
    let after_ms = rest.strip_suffix(" ms")?.parse().ok()?;
    Some(ErrorEffect::Timeout {
        operation: operation.to_owned(),
        after_ms,
    })
}

/// `cannot append event {id}: {rest}`.
fn append_refusal(message: &str) -> Option<(EventId, &str)> {
    let (event_id, rest) = message
        .strip_prefix("cannot append event ")?
        .split_once(": ")?;
    Some((id(event_id)?, rest))
}

fn id(text: &str) -> Option<EventId> {
    EventId::parse_str(text).ok()
}

/// The first hyphenated UUID in `text`.
pub(crate) fn first_uuid(text: &str) -> Option<EventId> {
    const LEN: usize = 36;
    text.char_indices()
        .filter(|(_, c)| c.is_ascii_hexdigit())
        .find_map(|(start, _)| text.get(start..start + LEN).and_then(id))
}

/// `until {µs} µs since the epoch` in a backpressure reason: the end of
/// the hold, finer than `Retry-After`'s whole seconds.
pub(crate) fn backpressure_until(reason: &str) -> Option<u64> {
    let (_, rest) = reason.rsplit_once(" until ")?;
    rest.strip_suffix(" µs since the epoch")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(error: &ErrorEffect) -> Option<ErrorEffect> {
        parse(error.code(), &error.to_string())
    }

    #[test]
    fn every_variant_the_server_sends_reads_back_exactly() {
        let event_id = uuid::Uuid::now_v7();
        let other = uuid::Uuid::now_v7();
        let errors = [
            ErrorEffect::NotFound { event_id },
            ErrorEffect::ParentNotFound {
                event_id,
                parent: other,
            },
            ErrorEffect::InvalidDepth {
                event_id,
                expected: 3,
                actual: 7,
            },
            ErrorEffect::SequenceConflict {
                event_id,
                lane: 2,
                expected: 5,
                actual: 9,
            },
            ErrorEffect::IdConflict {
                event_id,
                difference: "payload (stored {\"a\":1})".into(),
            },
            ErrorEffect::ChainCancelled {
                event_id,
                correlation_id: other,
                reason: "user: gave up".into(),
            },
            ErrorEffect::PayloadTooLarge {
                event_id,
                size: 2_000_000,
                limit: 1_048_576,
            },
            ErrorEffect::invalid("[3].flags", "unknown flag \"X\": accepted A, B"),
            ErrorEffect::Incomplete {
                message: "pending on 2 event(s)".into(),
            },
            ErrorEffect::LeaseConflict {
                event_id,
                message: "leased to worker-2 until 1700000000000000 µs".into(),
            },
            ErrorEffect::unavailable("append", "connection refused: is PostgreSQL up?"),
            ErrorEffect::OutcomeUnknown {
                operation: "append".into(),
                event_id,
                message: format!("read event {event_id} or retry with its id"),
            },
            ErrorEffect::Timeout {
                operation: "read".into(),
                after_ms: 5000,
            },
            ErrorEffect::corrupt(Some(event_id), "hash mismatch: x"),
            ErrorEffect::corrupt(None, "bad page"),
        ];
        for error in &errors {
            assert_eq!(round_trip(error).as_ref(), Some(error), "{error}");
        }
    }

    #[test]
    fn the_servers_own_timeout_and_unknown_texts() {
        assert_eq!(
            parse("timeout", "request did not finish within 30000 ms"),
            Some(ErrorEffect::Timeout {
                operation: "request".into(),
                after_ms: 30_000
            })
        );
        assert_eq!(parse("not_found", "no route for GET /x"), None);
        assert_eq!(parse("rate_limited", "slow down"), None);
    }

    #[test]
    fn backpressure_reason_names_its_end() {
        let reason = "correlation chain 0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60 is under backpressure until 1700000000123456 µs since the epoch";
        assert_eq!(backpressure_until(reason), Some(1_700_000_000_123_456));
        assert_eq!(backpressure_until("busy"), None);
    }
}
