//! Appending and reading events.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use eventdag::{EventKind, MAX_BATCH_EVENTS};
use serde::Deserialize;

use super::{parse_id, NoParams};
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::query::{Params, QueryParams};
use crate::{ApiError, AppState, NewEventBody, ServerStore};

/// `POST /v1/events`: appends one event; 201 with the stored event.
#[utoipa::path(
    post, path = "/v1/events", tag = "events",
    request_body = NewEventBody,
    responses(
        (status = 201, description = "The stored event (also for an idempotent retry with the same `id`)", body = crate::api_schemas::EventDoc),
        (status = 400, description = "Invalid input", body = crate::api_schemas::ErrorDoc),
        (status = 404, description = "A parent does not exist (or is another tenant's)", body = crate::api_schemas::ErrorDoc),
        (status = 409, description = "Sequence taken, id conflict or cancelled chain", body = crate::api_schemas::ErrorDoc),
        (status = 413, description = "Body or payload too large", body = crate::api_schemas::ErrorDoc),
        (status = 429, description = "Backpressure or rate limit; see Retry-After", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "`storage_unavailable` or `timeout`: nothing was stored, retry later. `outcome_unknown`: the store's answer to its commit was lost, so the event may be stored: read the event the message names, or retry with that `id` (idempotent)", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn append<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(body): JsonBody<NewEventBody>,
) -> Result<Response, ApiError> {
    let draft = body.into_draft(caller.tenant_id)?;
    let event = state.append(draft).await?;
    let location = HeaderValue::from_str(&format!("/v1/events/{}", event.id()))
        .map_err(|error| ApiError::bad_request("id", error.to_string()))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(event),
    )
        .into_response())
}

/// `POST /v1/events:batch`: appends a list of events all or none.
#[utoipa::path(
    post, path = "/v1/events:batch", tag = "events",
    request_body = Vec<NewEventBody>,
    responses(
        (status = 201, description = "Every event as stored, in request order", body = Vec<crate::api_schemas::EventDoc>),
        (status = 400, description = "Invalid input (the field path starts with the index)", body = crate::api_schemas::ErrorDoc),
        (status = 404, description = "A parent does not exist", body = crate::api_schemas::ErrorDoc),
        (status = 409, description = "Conflict; nothing was stored", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "`storage_unavailable` or `timeout`: nothing was stored, retry later. `outcome_unknown`: the store's answer to its commit was lost: read the event the message names (the batch is all or none), or retry with the same ids", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn append_batch<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(bodies): JsonBody<Vec<NewEventBody>>,
) -> Result<(StatusCode, Json<Vec<eventdag::Event<eventdag::RawJson>>>), ApiError> {
    if bodies.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::bad_request(
            "body",
            format!(
                "a batch of {} events is too large; at most {MAX_BATCH_EVENTS} are accepted",
                bodies.len()
            ),
        ));
    }
    let mut drafts = Vec::with_capacity(bodies.len());
    for (index, body) in bodies.into_iter().enumerate() {
        drafts.push(
            body.into_draft(caller.tenant_id)
                .map_err(|error| match error {
                    ApiError::BadRequest { field, message } => ApiError::BadRequest {
                        field: format!("[{index}].{field}"),
                        message,
                    },
                    other => other,
                })?,
        );
    }
    if drafts.is_empty() {
        return Ok((StatusCode::CREATED, Json(Vec::new())));
    }
    let events = state.append_batch(drafts).await?;
    Ok((StatusCode::CREATED, Json(events)))
}

/// `GET /v1/events/{id}`.
#[utoipa::path(
    get, path = "/v1/events/{id}", tag = "events",
    params(("id" = String, Path, description = "Event id (UUID)")),
    responses(
        (status = 200, description = "The event", body = crate::api_schemas::EventDoc),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn read<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<eventdag::Event<eventdag::RawJson>>, ApiError> {
    let id = parse_id("id", &id)?;
    Ok(Json(state.own_event(caller.tenant_id, id).await?))
}

/// `?kind=K&min_depth=A&max_depth=B&limit=N`.
#[derive(Debug, Deserialize)]
pub(crate) struct KindParams {
    kind: Option<EventKind>,
    min_depth: Option<u32>,
    max_depth: Option<u32>,
    #[serde(default, deserialize_with = "crate::query::saturating_limit")]
    limit: Option<usize>,
}

impl Params for KindParams {
    const NAMES: &'static [&'static str] = &["kind", "min_depth", "max_depth", "limit"];
}

/// `GET /v1/events?kind=K`: the tenant's events of one kind.
#[utoipa::path(
    get, path = "/v1/events", tag = "events",
    params(
        ("kind" = u16, Query, description = "Kind 0..=65535 (required)"),
        ("min_depth" = Option<u32>, Query, description = "Default 0"),
        ("max_depth" = Option<u32>, Query, description = "Default 4294967295"),
        ("limit" = Option<usize>, Query, description = "Default 100, capped at the server's max limit"),
    ),
    responses(
        (status = 200, description = "Events by (depth, lane, sequence)", body = Vec<crate::api_schemas::EventDoc>),
        (status = 400, description = "Invalid parameter", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn by_kind<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(params): QueryParams<KindParams>,
) -> Result<Json<Vec<eventdag::Event<eventdag::RawJson>>>, ApiError> {
    let kind = params.kind.ok_or_else(|| {
        ApiError::bad_request(
            "kind",
            "required: a kind number 0..=65535, e.g. ?kind=16384",
        )
    })?;
    let min_depth = params.min_depth.unwrap_or(0);
    let max_depth = params.max_depth.unwrap_or(u32::MAX);
    let limit = state.config().limit(params.limit);
    if min_depth > max_depth {
        // An empty range holds no event (SPEC §3: min ≤ depth ≤ max).
        return Ok(Json(Vec::new()));
    }
    let events = state
        .by_kind(caller.tenant_id, kind, (min_depth, max_depth), limit)
        .await?;
    Ok(Json(events))
}
