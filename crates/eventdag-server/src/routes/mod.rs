//! The handlers of every route, grouped by what they touch.

pub(crate) mod acks;
pub(crate) mod chains;
pub(crate) mod events;
pub(crate) mod forget;
pub(crate) mod pending;
pub(crate) mod queue;
pub(crate) mod signals;
pub(crate) mod streams;
pub(crate) mod system;
pub(crate) mod walks;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use eventdag::EventId;
use serde::Deserialize;

use crate::auth::Caller;
use crate::query::Params;
use crate::ApiError;

impl<St: Send + Sync> FromRequestParts<St> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("request was not authenticated".into()))
    }
}

/// An event id from the path.
pub(crate) fn parse_id(field: &str, text: &str) -> Result<EventId, ApiError> {
    EventId::parse_str(text).map_err(|error| {
        ApiError::bad_request(
            field,
            format!("{text:?} is not a UUID ({error}); accepted: a UUID such as 0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60"),
        )
    })
}

/// `?limit=N`.
#[derive(Debug, Deserialize)]
pub(crate) struct LimitParams {
    #[serde(default, deserialize_with = "crate::query::saturating_limit")]
    pub(crate) limit: Option<usize>,
}

impl Params for LimitParams {
    const NAMES: &'static [&'static str] = &["limit"];
}

/// No query parameters at all.
#[derive(Debug, Deserialize)]
pub(crate) struct NoParams {}

impl Params for NoParams {
    const NAMES: &'static [&'static str] = &[];
}
