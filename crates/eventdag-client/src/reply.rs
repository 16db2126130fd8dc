//! An HTTP error answer as the [`Effect`] a store would have returned.

use std::time::Duration;

use eventdag::{now_micros, Effect, ErrorEffect, EventId};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::message;

/// `{"error": {"code", "message"}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(Debug, Deserialize)]
struct ErrorFields {
    code: String,
    message: String,
}

/// What a call is about, for the errors that the server does not spell
/// out: the operation and the event it names (nil when none).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject {
    pub(crate) operation: &'static str,
    pub(crate) event_id: EventId,
}

/// The effect of a non-2xx answer with `body` and `Retry-After`.
pub(crate) fn error_effect<T>(
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
    subject: Subject,
) -> Effect<T> {
    let (code, text) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => (error.code, error.message),
        // Not our server's body (a proxy's page, say): keep what it said.
        Err(_) => (
            String::new(),
            String::from_utf8_lossy(body).chars().take(500).collect(),
        ),
    };
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Effect::Retry {
            after: retry_after_of(&text, retry_after),
            attempt: 1,
            max_attempts: 0,
            reason: text,
        };
    }
    if let Some(error) = message::parse(&code, &text) {
        return Effect::Err(error);
    }
    Effect::Err(fallback(status, &code, text, subject))
}

/// How long to wait: the end of the hold named in a backpressure reason
/// when it lies ahead on this machine's clock, else `Retry-After` (whole
/// seconds, rounded up by the server), else one second. The finer value
/// is never later than `Retry-After`, so a skewed clock can only make the
/// wait shorter than the server asks, never longer.
fn retry_after_of(reason: &str, header: Option<Duration>) -> Duration {
    let header = header.unwrap_or(Duration::from_secs(1));
    let fine = message::backpressure_until(reason)
        .and_then(|until| until.checked_sub(now_micros()))
        .filter(|left| *left > 0)
        .map(Duration::from_micros);
    fine.map_or(header, |fine| fine.min(header))
}

/// The error of an answer whose message has no known form: by status and
/// code, keeping the server's text.
fn fallback(status: StatusCode, code: &str, message: String, subject: Subject) -> ErrorEffect {
    let event_id = subject.event_id;
    match status {
        // A 404 without the server's body or for a route it does not have
        // means the URL does not lead to an EventDag API of this version:
        // the infrastructure's fault, not a missing event.
        StatusCode::NOT_FOUND if code != "no_route" && !code.is_empty() => {
            ErrorEffect::NotFound { event_id }
        }
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ErrorEffect::invalid("request", message)
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            ErrorEffect::invalid("api key", message)
        }
        StatusCode::PAYLOAD_TOO_LARGE => ErrorEffect::PayloadTooLarge {
            event_id,
            size: 0,
            limit: body_limit(&message).unwrap_or(0),
        },
        StatusCode::CONFLICT if code == "cancelled" => ErrorEffect::ChainCancelled {
            event_id,
            correlation_id: EventId::nil(),
            reason: message,
        },
        StatusCode::CONFLICT => ErrorEffect::Incomplete { message },
        StatusCode::SERVICE_UNAVAILABLE if code == "outcome_unknown" => {
            ErrorEffect::OutcomeUnknown {
                operation: subject.operation.to_owned(),
                event_id,
                message,
            }
        }
        StatusCode::INTERNAL_SERVER_ERROR if code == "corruption" => {
            ErrorEffect::corrupt(None, message)
        }
        _ => ErrorEffect::unavailable(
            subject.operation,
            format!("the server answered HTTP {status}: {message}"),
        ),
    }
}

/// `request body exceeds the limit of {N} bytes`.
fn body_limit(message: &str) -> Option<usize> {
    message
        .strip_prefix("request body exceeds the limit of ")?
        .strip_suffix(" bytes")?
        .parse()
        .ok()
}

/// `Retry-After` in whole seconds (the only form the server sends).
pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject {
            operation: "append",
            event_id: uuid::Uuid::now_v7(),
        }
    }

    #[test]
    fn backpressure_is_retry_no_later_than_retry_after() {
        let until = now_micros() + 300_000;
        let body = serde_json::json!({"error": {"code": "backpressure", "message": format!("correlation chain x is under backpressure until {until} µs since the epoch")}});
        let effect: Effect<()> = error_effect(
            StatusCode::TOO_MANY_REQUESTS,
            body.to_string().as_bytes(),
            Some(Duration::from_secs(1)),
            subject(),
        );
        match effect {
            Effect::Retry { after, reason, .. } => {
                assert!(
                    after <= Duration::from_millis(300) && after > Duration::ZERO,
                    "{after:?}"
                );
                assert!(reason.contains("backpressure"));
            }
            other => panic!("expected Retry, got {other:?}"),
        }
        let limited: Effect<()> = error_effect(
            StatusCode::TOO_MANY_REQUESTS,
            br#"{"error": {"code": "rate_limited", "message": "slow down"}}"#,
            Some(Duration::from_secs(2)),
            subject(),
        );
        assert!(matches!(limited, Effect::Retry { after, .. } if after == Duration::from_secs(2)));
    }

    #[test]
    fn unknown_texts_fall_back_by_status() {
        let s = subject();
        let not_json: Effect<()> = error_effect(
            StatusCode::BAD_GATEWAY,
            b"<html>bad gateway</html>",
            None,
            s,
        );
        let error = not_json.err().unwrap();
        assert!(error.is_operational(), "{error:?}");
        assert!(error.to_string().contains("bad gateway"), "{error}");
        let too_large: Effect<()> = error_effect(
            StatusCode::PAYLOAD_TOO_LARGE,
            br#"{"error": {"code": "payload_too_large", "message": "request body exceeds the limit of 1024 bytes"}}"#,
            None,
            s,
        );
        assert_eq!(
            too_large.err(),
            Some(ErrorEffect::PayloadTooLarge {
                event_id: s.event_id,
                size: 0,
                limit: 1024
            })
        );
        let no_route: Effect<()> = error_effect(
            StatusCode::NOT_FOUND,
            br#"{"error": {"code": "no_route", "message": "no route for GET /v2"}}"#,
            None,
            s,
        );
        let error = no_route.err().unwrap();
        assert!(error.is_operational(), "{error:?}");
        assert!(error.to_string().contains("/v2"), "{error}");
    }
}
