//! JSON bodies decoded with the path of the first wrong field in the
//! error, and the body size limit reported as 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState, ServerStore};

/// A JSON request body of type `T`. Any content type is accepted.
pub(crate) struct JsonBody<T>(pub(crate) T);

/// Whether a body type is a JSON object or a list. serde would also read
/// a struct from a list of its fields in order; request bodies refuse that.
pub(crate) trait BodyShape: DeserializeOwned {
    /// `{` for an object, `[` for a list.
    const OPENER: u8;
}

impl BodyShape for crate::NewEventBody {
    const OPENER: u8 = b'{';
}

impl BodyShape for Vec<crate::NewEventBody> {
    const OPENER: u8 = b'[';
}

impl BodyShape for crate::signal_body::SignalBody {
    const OPENER: u8 = b'{';
}

impl<T, S> FromRequest<AppState<S>> for JsonBody<T>
where
    T: BodyShape,
    S: ServerStore,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState<S>) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge {
                        limit: state.config().max_body_bytes,
                    }
                } else {
                    ApiError::bad_request("body", rejection.body_text())
                }
            })?;
        decode(&bytes).map(JsonBody)
    }
}

/// Decodes `bytes` as JSON `T`; the error names the field (`parents[1]`,
/// `position.lane`, …) or `body` when the JSON itself is malformed.
pub(crate) fn decode<T: BodyShape>(bytes: &[u8]) -> Result<T, ApiError> {
    let opener = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if opener.is_some_and(|b| *b != T::OPENER && (*b == b'{' || *b == b'[')) {
        let expected = if T::OPENER == b'{' {
            "a JSON object"
        } else {
            "a JSON list"
        };
        return Err(ApiError::bad_request(
            "body",
            format!("expected {expected}"),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let field = if path == "." || path.is_empty() || inner.is_syntax() || inner.is_eof() {
            "body".to_owned()
        } else {
            path
        };
        ApiError::bad_request(field, inner.to_string())
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::bad_request("body", error.to_string()))?;
    Ok(value)
}
