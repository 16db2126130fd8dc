//! HTTP errors: every failure becomes `{"error": {"code", "message"}}`
//! with the status of SPEC §7.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use eventdag::{Effect, ErrorEffect};
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A store error; its status follows the variant (see
    /// [`ApiError::status`]).
    #[error(transparent)]
    Store(#[from] ErrorEffect),
    /// Malformed request: body, path or query. HTTP 400.
    #[error("invalid {field}: {message}")]
    BadRequest {
        /// The field, parameter or header at fault.
        field: String,
        /// What was wrong and what is accepted.
        message: String,
    },
    /// No API key, or one that is unknown, malformed or revoked. HTTP 401.
    #[error("{0}")]
    Unauthorized(String),
    /// A browser-safety check refused the request (a foreign `Origin`, or
    /// a non-loopback `Host` on a server without keys). HTTP 403.
    #[error("{0}")]
    Forbidden(String),
    /// A request body that is not `application/json`. HTTP 415.
    #[error("a request body must be sent as Content-Type: application/json; given: {}", given.as_deref().unwrap_or("no Content-Type"))]
    UnsupportedMediaType {
        /// The `Content-Type` sent, if any.
        given: Option<String>,
    },
    /// The request body is larger than the server accepts. HTTP 413.
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// Too many requests for this key, or backpressure from the store.
    /// HTTP 429 with `Retry-After`.
    #[error("{reason}")]
    TooManyRequests {
        /// When to come back.
        retry_after: Duration,
        /// Why.
        reason: String,
        /// `rate_limited` or `backpressure`.
        code: &'static str,
    },
    /// The request did not finish in time. HTTP 503.
    #[error("request did not finish within {after_ms} ms")]
    Timeout {
        /// The configured request timeout.
        after_ms: u64,
    },
    /// Something other than an event is not there (a tenant's retention
    /// policy, a tenant by name). HTTP 404 with code `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// No such route. HTTP 404 with code `no_route`.
    #[error("no route for {method} {path}")]
    NoRoute {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
    },
}

impl ApiError {
    /// Shorthand for [`ApiError::BadRequest`].
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The error of a non-`Ok` effect: `Retry` becomes 429 with
    /// `Retry-After`, everything else its [`ErrorEffect`].
    pub fn from_effect<T>(effect: Effect<T>) -> Self {
        match effect {
            Effect::Retry { after, reason, .. } => Self::TooManyRequests {
                retry_after: after,
                reason,
                code: "backpressure",
            },
            other => match other.into_result() {
                Err(error) => Self::from_store(error),
                Ok(_) => Self::Store(ErrorEffect::Incomplete {
                    message: "an Ok effect was reported as an error".into(),
                }),
            },
        }
    }

    /// A store error; backpressure flattened into `RetryLater` gets 429.
    pub fn from_store(error: ErrorEffect) -> Self {
        match error {
            ErrorEffect::RetryLater {
                after_micros,
                reason,
            } => Self::TooManyRequests {
                retry_after: Duration::from_micros(after_micros),
                reason,
                code: "backpressure",
            },
            other => Self::Store(other),
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Store(error) => store_status(error),
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound(_) | Self::NoRoute { .. } => StatusCode::NOT_FOUND,
        }
    }

    /// The stable machine-readable code of the body.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(error) => error.code(),
            Self::BadRequest { .. } => "invalid_input",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::BodyTooLarge { .. } => "payload_too_large",
            Self::TooManyRequests { code, .. } => code,
            Self::Timeout { .. } => "timeout",
            Self::NotFound(_) => "not_found",
            Self::NoRoute { .. } => "no_route",
        }
    }

    /// The message of the body. A parent of another tenant reads exactly
    /// like a missing one, so that existence does not leak.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Store(ErrorEffect::TenantMismatch {
                event_id, parent, ..
            }) => ErrorEffect::ParentNotFound {
                event_id: *event_id,
                parent: *parent,
            }
            .to_string(),
            other => other.to_string(),
        }
    }
}

fn store_status(error: &ErrorEffect) -> StatusCode {
    match error {
        ErrorEffect::NotFound { .. }
        | ErrorEffect::ParentNotFound { .. }
        | ErrorEffect::TenantMismatch { .. } => StatusCode::NOT_FOUND,
        ErrorEffect::InvalidInput { .. } => StatusCode::BAD_REQUEST,
        // A position whose depth disagrees with the stored parents is a
        // conflict with the stored graph, like a taken sequence.
        ErrorEffect::InvalidDepth { .. }
        | ErrorEffect::SequenceConflict { .. }
        | ErrorEffect::IdConflict { .. }
        | ErrorEffect::ChainCancelled { .. }
        | ErrorEffect::LeaseConflict { .. }
        | ErrorEffect::Incomplete { .. } => StatusCode::CONFLICT,
        ErrorEffect::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorEffect::RetryLater { .. } => StatusCode::TOO_MANY_REQUESTS,
        // An unknown outcome is operational like an outage: the client
        // finds out (read, or retry with the same id) and carries on.
        ErrorEffect::StorageUnavailable { .. }
        | ErrorEffect::OutcomeUnknown { .. }
        | ErrorEffect::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Whole seconds to wait, rounded up, at least 1 (so that clients never
/// retry in a busy loop).
#[must_use]
pub(crate) fn retry_after_seconds(after: Duration) -> u64 {
    let whole = after.as_secs();
    let rounded = if after.subsec_nanos() > 0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    rounded.max(1)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "request refused");
        }
        let body = json!({"error": {"code": self.code(), "message": self.message()}});
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            Self::TooManyRequests { retry_after, .. } => Some(*retry_after),
            Self::Store(ErrorEffect::RetryLater { after_micros, .. }) => {
                Some(Duration::from_micros(*after_micros))
            }
            _ => None,
        };
        if let Some(after) = retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds(after)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"eventdag\""),
            );
        }
        response
    }
}

/// Why [`crate::serve`] could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// No API key exists and the address is not loopback: the server
    /// would expose the default tenant to the network. Create a key
    /// (`eventdag tenant create NAME`) or listen on 127.0.0.1 / ::1.
    #[error("refusing to listen on {addr}: no API keys exist, so every client would get the default tenant without authentication; create a key with `eventdag tenant create NAME` or listen on a loopback address (127.0.0.1 or ::1)")]
    InsecureAddress {
        /// The refused address.
        addr: std::net::SocketAddr,
    },
    /// The store could not list API keys.
    #[error("cannot read API keys from the store: {0}")]
    Store(ErrorEffect),
    /// The TLS certificate or key could not be loaded.
    #[error("cannot load TLS certificate {} and key {}: {source}", cert.display(), key.display())]
    Tls {
        /// The certificate file.
        cert: std::path::PathBuf,
        /// The key file.
        key: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Binding or serving failed.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
    }

    #[test]
    fn an_unknown_outcome_is_503_with_its_own_code() {
        let error = ApiError::Store(ErrorEffect::OutcomeUnknown {
            operation: "append".into(),
            event_id: uuid::Uuid::now_v7(),
            message: "read it".into(),
        });
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.code(), "outcome_unknown");
    }

    #[test]
    fn foreign_parent_reads_like_a_missing_one() {
        let id = uuid::Uuid::now_v7();
        let parent = uuid::Uuid::now_v7();
        let foreign = ApiError::Store(ErrorEffect::TenantMismatch {
            event_id: id,
            parent,
            tenant_id: uuid::Uuid::nil(),
        });
        let missing = ApiError::Store(ErrorEffect::ParentNotFound {
            event_id: id,
            parent,
        });
        assert_eq!(foreign.message(), missing.message());
        assert_eq!(foreign.status(), missing.status());
        assert_eq!(foreign.code(), missing.code());
    }
}
