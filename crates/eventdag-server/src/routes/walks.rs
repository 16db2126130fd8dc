//! Walks of the graph and correlation chains.

use axum::extract::{Path, State};
use axum::Json;
use eventdag::RawJson;
use eventdag::{Event, Verification};

use super::{parse_id, LimitParams, NoParams};
use crate::auth::Caller;
use crate::query::QueryParams;
use crate::{ApiError, AppState, ServerStore};

/// `GET /v1/events/{id}/ancestors?limit=N`.
#[utoipa::path(
    get, path = "/v1/events/{id}/ancestors", tag = "walks",
    params(
        ("id" = String, Path, description = "Start event"),
        ("limit" = Option<usize>, Query, description = "Default 100, capped at the server's max limit"),
    ),
    responses(
        (status = 200, description = "`id` first, then its ancestors, most recent first", body = Vec<crate::api_schemas::EventDoc>),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn ancestors<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<LimitParams>,
) -> Result<Json<Vec<Event<RawJson>>>, ApiError> {
    let id = parse_id("id", &id)?;
    let limit = state.config().limit(params.limit);
    Ok(Json(state.walk(caller.tenant_id, id, limit, true).await?))
}

/// `GET /v1/events/{id}/descendants?limit=N`.
#[utoipa::path(
    get, path = "/v1/events/{id}/descendants", tag = "walks",
    params(
        ("id" = String, Path, description = "Start event"),
        ("limit" = Option<usize>, Query, description = "Default 100, capped at the server's max limit"),
    ),
    responses(
        (status = 200, description = "`id` first, then its descendants, by depth ascending", body = Vec<crate::api_schemas::EventDoc>),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn descendants<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<LimitParams>,
) -> Result<Json<Vec<Event<RawJson>>>, ApiError> {
    let id = parse_id("id", &id)?;
    let limit = state.config().limit(params.limit);
    Ok(Json(state.walk(caller.tenant_id, id, limit, false).await?))
}

/// `GET /v1/correlations/{correlation_id}/events`.
#[utoipa::path(
    get, path = "/v1/correlations/{correlation_id}/events", tag = "walks",
    params(("correlation_id" = String, Path, description = "The chain's correlation id")),
    responses(
        (status = 200, description = "The tenant's events of the chain in topological order (empty for an unknown chain)", body = Vec<crate::api_schemas::EventDoc>),
        (status = 400, description = "Not a UUID", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn chain<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(correlation_id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<Vec<Event<RawJson>>>, ApiError> {
    let correlation_id = parse_id("correlation_id", &correlation_id)?;
    Ok(Json(state.chain(caller.tenant_id, correlation_id).await?))
}

/// `GET /v1/events/{id}/verify`: checks the event's stored bytes against
/// its stored hash (SPEC §6).
#[utoipa::path(
    get, path = "/v1/events/{id}/verify", tag = "walks",
    params(("id" = String, Path, description = "Event")),
    responses(
        (status = 200, description = "`{\"checked\": 1, \"first_mismatch\": null | {event_id, stored, computed}}`"),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn verify<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<Verification>, ApiError> {
    let id = parse_id("id", &id)?;
    Ok(Json(state.verify(caller.tenant_id, id).await?))
}
