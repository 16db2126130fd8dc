//! Upstream signals: sending and listing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use eventdag::{SignalRecord, UpstreamSignal};
use serde_json::{json, Value};

use super::{parse_id, LimitParams, NoParams};
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::query::QueryParams;
use crate::signal_body::SignalBody;
use crate::{ApiError, AppState, ServerStore};

/// `POST /v1/events/{id}/signals` with an `UpstreamSignal`, e.g.
/// `{"type": "cancel", "correlation_id": "…", "reason": "…"}`.
#[utoipa::path(
    post, path = "/v1/events/{id}/signals", tag = "signals",
    params(("id" = String, Path, description = "The event the signal is sent from")),
    request_body(content = crate::api_schemas::SignalDoc, description = "An UpstreamSignal tagged by `type`: ack, backpressure, cancel, compensation_complete, error_propagation"),
    responses(
        (status = 201, description = "Stored and delivered to every ancestor", body = crate::api_schemas::SignalSentDoc),
        (status = 400, description = "Unknown type or wrong fields", body = crate::api_schemas::ErrorDoc),
        (status = 404, description = "`id` or an event the signal names is unknown or another tenant's", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "`storage_unavailable` or `timeout`: nothing was stored. `outcome_unknown`: the answer to the commit was lost: list the event's signals before sending it again", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn send<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(body): JsonBody<SignalBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let from = parse_id("id", &id)?;
    let mut signal = body.into_signal()?;
    if let UpstreamSignal::Backpressure { until } = &mut signal {
        *until = within_horizon(*until, state.config().max_backpressure);
    }
    state.signal(caller.tenant_id, from, signal.clone()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"from": from, "signal": signal})),
    ))
}

/// `GET /v1/events/{id}/signals?limit=N`.
#[utoipa::path(
    get, path = "/v1/events/{id}/signals", tag = "signals",
    params(
        ("id" = String, Path, description = "Event"),
        ("limit" = Option<usize>, Query, description = "Default 100, capped at the server's max limit"),
    ),
    responses(
        (status = 200, description = "Signals sent from or delivered to the event, by sequence", body = Vec<crate::api_schemas::SignalRecordDoc>),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn list<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<LimitParams>,
) -> Result<Json<Vec<SignalRecord>>, ApiError> {
    let id = parse_id("id", &id)?;
    let limit = state.config().limit(params.limit);
    Ok(Json(state.signals_of(caller.tenant_id, id, limit).await?))
}

/// A backpressure `until` no later than now + `horizon`: a later one (a
/// µs value sent as ns, `u64::MAX`) is lowered to it, as a `limit` above
/// the maximum is capped; the answer shows the `until` stored.
fn within_horizon(until: u64, horizon: std::time::Duration) -> u64 {
    let latest = eventdag::now_micros()
        .saturating_add(u64::try_from(horizon.as_micros()).unwrap_or(u64::MAX));
    until.min(latest)
}
