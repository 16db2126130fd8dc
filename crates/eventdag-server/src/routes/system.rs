//! Operations routes: health, metrics, the OpenAPI document and the page.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::NoParams;
use crate::query::QueryParams;
use crate::{ApiError, AppState, ServerStore};

/// The page served at `/`: the graph explorer (one self-contained file).
const INDEX_HTML: &str = include_str!("../../assets/explorer.html");

/// `GET /healthz`: asks the store for a read round trip.
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "`{\"status\": \"ok\"}`"),
        (status = 400, description = "A query parameter was given; this route takes none", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "The store does not answer", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn healthz<S: ServerStore>(
    State(state): State<AppState<S>>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<Value>, ApiError> {
    state.health().await?;
    Ok(Json(json!({"status": "ok"})))
}

/// `GET /metrics`: Prometheus text exposition.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain"))
)]
pub(crate) async fn metrics<S: ServerStore>(State(state): State<AppState<S>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.inner.metrics.render(),
    )
        .into_response()
}

/// `GET /`: the graph explorer page.
#[utoipa::path(
    get, path = "/", tag = "operations",
    responses((status = 200, description = "The graph explorer: draws a correlation chain", content_type = "text/html"))
)]
pub(crate) async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}
