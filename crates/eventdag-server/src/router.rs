//! The router: every route of SPEC §7 and the layers around them.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::auth::{authenticate, authenticate_admin};
use crate::browser;
use crate::openapi;
use crate::routes::streams;
use crate::routes::{acks, chains, events, forget, pending, queue, signals, system, walks};
use crate::{metrics, ApiError, AppState, ServerStore};

/// The router over `state`. Every `/v1` route needs an API key (unless the
/// store has none, when the default tenant is served); `/`, `/healthz`,
/// `/metrics` and `/openapi.json` are open.
pub fn app<S: ServerStore>(state: AppState<S>) -> Router {
    let v1 = Router::new()
        .route(
            "/v1/events",
            post(events::append::<S>).get(events::by_kind::<S>),
        )
        .route("/v1/events:batch", post(events::append_batch::<S>))
        .route("/v1/events/{id}", get(events::read::<S>))
        .route("/v1/events/{id}/ancestors", get(walks::ancestors::<S>))
        .route("/v1/events/{id}/descendants", get(walks::descendants::<S>))
        .route("/v1/events/{id}/ack", post(acks::ack::<S>))
        .route("/v1/events/{id}/verify", get(walks::verify::<S>))
        .route(
            "/v1/events/{id}/signals",
            post(signals::send::<S>).get(signals::list::<S>),
        )
        .route(
            "/v1/correlations/{correlation_id}/events",
            get(walks::chain::<S>),
        )
        .route("/v1/chains", get(chains::recent::<S>))
        .route("/v1/unacknowledged", get(acks::unacknowledged::<S>))
        .route("/v1/next-position", get(acks::next_position::<S>))
        .route("/v1/queue/claims", post(queue::claim_work::<S>))
        .route(
            "/v1/queue/leases/{id}/extend",
            post(queue::extend_lease::<S>),
        )
        .route(
            "/v1/queue/leases/{id}/release",
            post(queue::release_lease::<S>),
        )
        .route(
            "/v1/queue/leases/{id}/ack",
            post(queue::acknowledge_lease::<S>),
        )
        .route("/v1/queue/events/{id}", get(queue::queue_entry::<S>))
        .route("/v1/queue/pending", get(pending::pending::<S>))
        .route("/v1/queue/dead-letters", get(queue::list_dead_letters::<S>))
        .route(
            "/v1/queue/dead-letters/{id}/requeue",
            post(queue::requeue_dead_letter::<S>),
        )
        .route("/v1/streams/events", get(streams::events::<S>))
        .route("/v1/streams/signals", get(streams::signals::<S>))
        .route("/v1/events/{id}/redact", post(forget::redact::<S>))
        .route(
            "/v1/retention",
            get(forget::get_retention::<S>)
                .put(forget::put_retention::<S>)
                .delete(forget::delete_retention::<S>),
        )
        .route("/v1/retention/run", post(forget::run_retention::<S>))
        .route(
            "/v1/correlations/{correlation_id}",
            delete(forget::remove_chain::<S>),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            authenticate::<S>,
        ));
    // The administrator's routes: their own credential, never a tenant's.
    let admin = Router::new()
        .route(
            "/v1/admin/tenants/{tenant}",
            delete(forget::erase_tenant::<S>),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            authenticate_admin::<S>,
        ));
    let body_limit = state.config().max_body_bytes;
    let router = Router::new()
        .route("/", get(system::index))
        .route("/healthz", get(system::healthz::<S>))
        .route("/metrics", get(system::metrics::<S>))
        .route("/openapi.json", get(openapi::document))
        .merge(v1)
        .merge(admin)
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            browser::guard::<S>,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            time_limit::<S>,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track::<S>,
        ))
        .layer(DefaultBodyLimit::max(body_limit));
    // CORS answers preflights before the browser guard sees them, and only
    // for the configured origins; with none, no CORS header is ever sent.
    let origins: Vec<HeaderValue> = state
        .config()
        .cors_origins
        .iter()
        .filter_map(|origin| origin.parse().ok())
        .collect();
    let router = if origins.is_empty() {
        router
    } else {
        router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
                .allow_headers([
                    AUTHORIZATION,
                    CONTENT_TYPE,
                    HeaderName::from_static("last-event-id"),
                ])
                .expose_headers([RETRY_AFTER]),
        )
    };
    router.layer(TraceLayer::new_for_http()).with_state(state)
}

async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NoRoute {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    let mut response = ApiError::bad_request(
        "method",
        format!("{method} is not allowed on {}", uri.path()),
    )
    .into_response();
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// Answers 503 `timeout` when a handler has not produced its response in
/// the configured time (a stream's body is not bounded, only its start).
async fn time_limit<S: ServerStore>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.config().request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout {
            after_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
        }
        .into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use eventdag::MemoryDag;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use crate::ServerConfig;

    #[tokio::test]
    async fn a_slow_handler_gets_503_timeout() {
        type Store = MemoryDag<eventdag::RawJson>;
        let config = ServerConfig {
            request_timeout: Duration::from_millis(20),
            ..ServerConfig::default()
        };
        let state = AppState::new(Arc::new(Store::new()), config);
        let router: Router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .layer(middleware::from_fn_with_state(
                state.clone(),
                time_limit::<Store>,
            ))
            .with_state(state);
        let request = Request::get("/slow").body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "timeout");
    }
}
