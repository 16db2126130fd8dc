//! Acknowledgments, the work queue and next positions.

use axum::extract::{Path, State};
use axum::Json;
use eventdag::RawJson;
use eventdag::{DagPosition, Event, EventId};
use serde::Deserialize;

use super::{parse_id, LimitParams};
use crate::auth::Caller;
use crate::query::{Params, QueryParams};
use crate::{ApiError, AppState, ServerStore};

/// `?upstream=true|false`.
#[derive(Debug, Deserialize)]
pub(crate) struct AckParams {
    upstream: Option<bool>,
}

impl Params for AckParams {
    const NAMES: &'static [&'static str] = &["upstream"];
}

/// `POST /v1/events/{id}/ack?upstream=true|false`.
#[utoipa::path(
    post, path = "/v1/events/{id}/ack", tag = "acks",
    params(
        ("id" = String, Path, description = "Event to acknowledge"),
        ("upstream" = Option<bool>, Query, description = "Also send an Ack signal upstream (default false)"),
    ),
    responses(
        (status = 200, description = "The event after acknowledgment (idempotent)", body = crate::api_schemas::EventDoc),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "`storage_unavailable` or `timeout`: nothing changed. `outcome_unknown`: the answer to the commit was lost: read the event, or acknowledge again (idempotent)", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn ack<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<AckParams>,
) -> Result<Json<Event<RawJson>>, ApiError> {
    let id = parse_id("id", &id)?;
    let upstream = params.upstream.unwrap_or(false);
    Ok(Json(
        state.acknowledge(caller.tenant_id, id, upstream).await?,
    ))
}

/// `GET /v1/unacknowledged?limit=N`.
#[utoipa::path(
    get, path = "/v1/unacknowledged", tag = "acks",
    params(("limit" = Option<usize>, Query, description = "Default 100, capped at the server's max limit")),
    responses(
        (status = 200, description = "The tenant's events flagged REQUIRES_ACK and not acknowledged, oldest first", body = Vec<crate::api_schemas::EventDoc>),
    )
)]
pub(crate) async fn unacknowledged<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(params): QueryParams<LimitParams>,
) -> Result<Json<Vec<Event<RawJson>>>, ApiError> {
    let limit = state.config().limit(params.limit);
    Ok(Json(state.unacknowledged(caller.tenant_id, limit).await?))
}

/// `?parent=ID&lane=L`.
#[derive(Debug, Deserialize)]
pub(crate) struct NextParams {
    parent: Option<String>,
    lane: Option<u32>,
}

impl Params for NextParams {
    const NAMES: &'static [&'static str] = &["parent", "lane"];
}

/// `GET /v1/next-position?parent=ID&lane=L`.
#[utoipa::path(
    get, path = "/v1/next-position", tag = "acks",
    params(
        ("parent" = Option<String>, Query, description = "Parent event (none: a root)"),
        ("lane" = Option<u32>, Query, description = "Default the parent's lane, else 0"),
    ),
    responses(
        (status = 200, description = "The position an event appended now would take; reserves nothing", body = crate::api_schemas::PositionDoc),
        (status = 404, description = "Unknown parent, or another tenant's", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn next_position<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(params): QueryParams<NextParams>,
) -> Result<Json<DagPosition>, ApiError> {
    let parent: Option<EventId> = params
        .parent
        .as_deref()
        .map(|text| parse_id("parent", text))
        .transpose()?;
    Ok(Json(
        state
            .next_position(caller.tenant_id, parent, params.lane)
            .await?,
    ))
}
