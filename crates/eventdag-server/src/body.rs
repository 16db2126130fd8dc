//! JSON bodies decoded with the path of the first wrong field in the
//! error, and the body size limit reported as 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState, ServerStore};

/// A JSON request body of type `T`. Any content type is accepted.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T, S> FromRequest<AppState<S>> for JsonBody<T>
where
    T: DeserializeOwned,
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
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
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
