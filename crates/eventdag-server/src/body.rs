//! JSON bodies decoded with the path of the first wrong field in the
//! error, and the body size limit reported as 413.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::{ApiError, AppState, ServerStore};

/// A JSON request body of type `T` (the `Content-Type` is checked by
/// [`crate::browser`] before any handler runs).
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
        let config = state.config();
        let bytes = read_limited(request, config.max_body_bytes, config.max_drain_bytes).await?;
        decode(&bytes).map(JsonBody)
    }
}

/// Reads a body of at most `limit` bytes. A larger one is read on and
/// dropped, up to `drain` bytes more, before the 413 answer: clients that
/// send the whole body before they read (Python's urllib, requests) then
/// see the 413 instead of a connection reset. A body announced or sent
/// beyond that is answered at once (and the connection closed).
async fn read_limited(request: Request, limit: usize, drain: usize) -> Result<Bytes, ApiError> {
    let too_large = ApiError::BodyTooLarge { limit };
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let bound = u64::try_from(limit.saturating_add(drain)).unwrap_or(u64::MAX);
    if announced.is_some_and(|length| length > bound) {
        return Err(too_large);
    }
    let mut body = request.into_body();
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| ApiError::bad_request("body", error.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            bytes.extend_from_slice(&data);
        } else if seen > limit.saturating_add(drain) {
            return Err(too_large);
        }
    }
    if seen > limit {
        return Err(too_large);
    }
    Ok(Bytes::from(bytes))
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
    let decoded: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    if let Err(error) = &decoded {
        if error.inner().to_string().contains("floating point") {
            if let Some(text) = with_integral_floats_as_integers(bytes) {
                // JSON Schema counts 5.0 as an integer; serde does not.
                let mut second = serde_json::Deserializer::from_slice(&text);
                if let Ok(value) = serde_path_to_error::deserialize(&mut second) {
                    return Ok(value);
                }
            }
        }
    }
    let value = decoded.map_err(|error| {
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

/// The body with every whole-valued float outside `payload` (`5.0`)
/// turned into an integer, as JSON text for a second decoding attempt;
/// each `payload` is copied as sent, byte for byte (payloads are stored
/// exactly). `None` when the body is not JSON.
fn with_integral_floats_as_integers(bytes: &[u8]) -> Option<Vec<u8>> {
    let body: Box<RawValue> = serde_json::from_slice(bytes).ok()?;
    let mut out = Vec::with_capacity(bytes.len());
    rewrite_floats(&body, &mut out)?;
    Some(out)
}

/// Writes `raw` to `out` with whole floats as integers, except inside
/// fields named `payload`.
fn rewrite_floats(raw: &RawValue, out: &mut Vec<u8>) -> Option<()> {
    match raw.get().as_bytes().first()? {
        b'{' => {
            // Field order does not matter to the decoder; a duplicate
            // field was already refused by the first attempt.
            let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(raw.get()).ok()?;
            out.push(b'{');
            for (index, (name, field)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, name).ok()?;
                out.push(b':');
                if name == "payload" {
                    out.extend_from_slice(field.get().as_bytes());
                } else {
                    rewrite_floats(field, out)?;
                }
            }
            out.push(b'}');
        }
        b'[' => {
            let items: Vec<Box<RawValue>> = serde_json::from_str(raw.get()).ok()?;
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                rewrite_floats(item, out)?;
            }
            out.push(b']');
        }
        _ => {
            let mut value: serde_json::Value = serde_json::from_str(raw.get()).ok()?;
            if let Some(float) = value.as_f64().filter(|_| value.is_f64()) {
                if float.fract() == 0.0 && float.abs() < 9.0e15 {
                    // Exact: |float| < 2^53 and whole.
                    #[allow(clippy::cast_possible_truncation)]
                    let whole = float as i64;
                    value = serde_json::Value::from(whole);
                }
            }
            serde_json::to_writer(&mut *out, &value).ok()?;
        }
    }
    Some(())
}
