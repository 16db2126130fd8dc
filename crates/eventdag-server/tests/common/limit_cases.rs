//! The `limit` cap and the per-key rate limit.

use std::sync::Arc;

use axum::http::StatusCode;
use eventdag_server::{ServerConfig, ServerStore};
use serde_json::json;

use super::{tenant_api, test_config, Api};

pub async fn limit_is_capped<S: ServerStore>(store: Arc<S>) {
    let config = ServerConfig {
        max_limit: 3,
        default_limit: 2,
        ..test_config()
    };
    let api = Api::new(store, config);
    for n in 0..5 {
        api.append(json!({"payload": n, "kind": 7, "flags": ["REQUIRES_ACK"]}))
            .await;
    }
    let count = |reply: super::Reply| reply.json.as_array().map_or(0, Vec::len);
    assert_eq!(count(api.get("/v1/events?kind=7&limit=100").await), 3);
    assert_eq!(
        count(api.get("/v1/events?kind=7").await),
        2,
        "default limit"
    );
    assert_eq!(count(api.get("/v1/events?kind=7&limit=1").await), 1);
    assert_eq!(count(api.get("/v1/unacknowledged?limit=1000000").await), 3);
    assert_eq!(
        count(
            api.get("/v1/unacknowledged?limit=18446744073709551615")
                .await
        ),
        3
    );
}

pub async fn rate_limit_is_429_with_retry_after<S: ServerStore>(store: Arc<S>) {
    let config = ServerConfig {
        rate_limit_per_second: 1,
        rate_limit_burst: 2,
        ..test_config()
    };
    let anonymous = Api::new(Arc::clone(&store), config);
    let (alice, _) = tenant_api(store.as_ref(), &anonymous, "alice").await;
    let (bob, _) = tenant_api(store.as_ref(), &anonymous, "bob").await;
    assert_eq!(alice.get("/v1/unacknowledged").await.status, StatusCode::OK);
    assert_eq!(alice.get("/v1/unacknowledged").await.status, StatusCode::OK);
    let limited = alice.get("/v1/unacknowledged").await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert_eq!(limited.code(), "rate_limited");
    assert_eq!(limited.headers["retry-after"], "1");
    assert_eq!(
        bob.get("/v1/unacknowledged").await.status,
        StatusCode::OK,
        "the limit is per key"
    );
    assert_eq!(anonymous.get("/healthz").await.status, StatusCode::OK);
}
