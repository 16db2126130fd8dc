//! The routes the explorer's landing and queue views read:
//! `GET /v1/chains` (recent chains, newest first, with size, depth and
//! status; filters; the scan window) and `GET /v1/queue/pending`
//! (unacknowledged events with their leases), each tenant-scoped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use eventdag::{MemoryDag, RawJson};
use serde_json::{json, Value};

use common::{id_of, tenant_api, test_config, Api};

fn chain<'a>(listing: &'a Value, correlation: &str) -> &'a Value {
    listing["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["correlation_id"] == correlation)
        .unwrap_or_else(|| panic!("{correlation} not listed in {listing}"))
}

fn listed(listing: &Value) -> Vec<String> {
    listing["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["correlation_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn recent_chains_are_newest_first_with_size_depth_and_status() {
    recent_chains_case(Arc::new(MemoryDag::<RawJson>::new())).await;
}

/// The same on LMDB, whose log cursors the window is computed from.
#[tokio::test]
async fn recent_chains_on_lmdb() {
    let dir = tempfile::tempdir().unwrap();
    let store = eventdag_lmdb::LmdbDag::<RawJson>::open(dir.path()).unwrap();
    recent_chains_case(Arc::new(store)).await;
}

async fn recent_chains_case<S: eventdag_server::ServerStore>(store: Arc<S>) {
    let keyless = Api::new(Arc::clone(&store), test_config());
    let (api, _) = tenant_api(store.as_ref(), &keyless, "acme").await;
    let (other, _) = tenant_api(store.as_ref(), &keyless, "other").await;

    // plain: root -> a -> b, and a fork to lane 1 (3 deep, 2 lanes).
    let plain = id_of(&api.append(json!({"payload": "p", "kind": 0x1001})).await);
    let a = id_of(
        &api.append(json!({"payload": "a", "parents": [plain]}))
            .await,
    );
    api.append(json!({"payload": "b", "parents": [a]})).await;
    api.append(json!({"payload": "f", "parents": [a], "lane": 1, "kind": 0x6002}))
        .await;
    let waiting = id_of(
        &api.append(json!({"payload": "w", "flags": ["REQUIRES_ACK"]}))
            .await,
    );
    let held = id_of(&api.append(json!({"payload": "h"})).await);
    let until = eventdag::now_micros() + 60_000_000;
    let reply = api
        .post(
            &format!("/v1/events/{held}/signals"),
            &json!({"type": "backpressure", "until": until}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let cancelled = id_of(
        &api.append(json!({"payload": "c", "flags": ["REQUIRES_ACK"]}))
            .await,
    );
    let reply = api
        .post(
            &format!("/v1/events/{cancelled}/signals"),
            &json!({"type": "cancel", "correlation_id": cancelled, "reason": "user abort"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    // Another tenant's chain is never listed.
    let foreign = id_of(&other.append(json!({"payload": "x"})).await);

    let reply = api.get("/v1/chains").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let listing = reply.json;
    assert_eq!(
        listed(&listing),
        vec![
            cancelled.clone(),
            held.clone(),
            waiting.clone(),
            plain.clone()
        ],
        "newest last event first, the tenant's only"
    );
    assert!(!listing.to_string().contains(&foreign));
    assert_eq!(listing["scanned"], 7);
    assert_eq!(listing["complete"], true);
    assert_eq!(listing["cursor"], 7);

    let p = chain(&listing, &plain);
    assert_eq!(p["events"], 4);
    assert_eq!(p["max_depth"], 2);
    assert_eq!(p["lanes"], 2);
    assert_eq!(p["kinds"], json!([0, 0x1001, 0x6002]));
    assert_eq!(p["status"], "live");
    assert_eq!(p["complete"], true);
    assert_eq!(p["first_event"]["id"], plain);
    assert_eq!(p["last_event"]["lane"], 1);
    assert_eq!(chain(&listing, &waiting)["status"], "waiting_for_acks");
    assert_eq!(chain(&listing, &waiting)["unacknowledged"], 1);
    assert_eq!(chain(&listing, &held)["status"], "backpressure");
    assert_eq!(chain(&listing, &held)["backpressure_until"], until);
    let c = chain(&listing, &cancelled);
    assert_eq!(c["status"], "cancelled", "cancelled wins over waiting");
    assert_eq!(c["cancelled"], "user abort");

    // Filters: status, kind, limit.
    let only = |query: &str| {
        let api = api.clone();
        let query = query.to_owned();
        async move {
            let reply = api.get(&format!("/v1/chains?{query}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
            listed(&reply.json)
        }
    };
    assert_eq!(only("status=waiting_for_acks").await, vec![waiting.clone()]);
    assert_eq!(only("status=live").await, vec![plain.clone()]);
    assert_eq!(only("status=cancelled").await, vec![cancelled.clone()]);
    assert_eq!(only("kind=24578").await, vec![plain.clone()]);
    assert_eq!(only("limit=2").await, vec![cancelled.clone(), held.clone()]);
    assert!(only("limit=0").await.is_empty());
    assert_eq!(
        api.get("/v1/chains?status=busy").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api.get("/v1/chains?kind=70000").await.status,
        StatusCode::BAD_REQUEST
    );

    // An acknowledgment moves a chain back to live; an append moves it
    // to the top.
    let reply = api
        .call(
            axum::http::Method::POST,
            &format!("/v1/events/{waiting}/ack"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    api.append(json!({"payload": "again", "parents": [plain]}))
        .await;
    let listing = api.get("/v1/chains").await.json;
    assert_eq!(listed(&listing)[0], plain);
    assert_eq!(chain(&listing, &plain)["events"], 5);
    assert_eq!(chain(&listing, &waiting)["status"], "live");

    // Without a key, once keys exist: 401.
    assert_eq!(
        keyless.get("/v1/chains").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_window_reads_only_the_newest_events() {
    let store = Arc::new(MemoryDag::<RawJson>::new());
    let config = eventdag_server::ServerConfig {
        chains_scan_events: 3,
        chains_default_limit: 2,
        ..test_config()
    };
    let api = Api::new(store, config);
    let old = id_of(&api.append(json!({"payload": "old"})).await);
    let long = id_of(&api.append(json!({"payload": "long"})).await);
    for n in 0..3 {
        let body = json!({"payload": n, "parents": [long]});
        api.append(body).await;
    }
    let fresh = id_of(&api.append(json!({"payload": "fresh"})).await);

    let listing = api.get("/v1/chains?limit=10").await.json;
    // The window: the newest 3 of 6 events (2 of `long`, `fresh`).
    assert_eq!(listing["scanned"], 3);
    assert_eq!(listing["complete"], false);
    assert_eq!(listing["cursor"], 6);
    assert_eq!(listed(&listing), vec![fresh.clone(), long.clone()]);
    assert!(!listing.to_string().contains(&old), "older than the window");
    let l = chain(&listing, &long);
    assert_eq!(l["events"], 2, "counted within the window");
    assert_eq!(l["complete"], false, "its root lies before the window");
    assert_eq!(chain(&listing, &fresh)["complete"], true, "holds its root");
    // The default limit is the setting.
    assert_eq!(
        api.get("/v1/chains").await.json["chains"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn the_log_end_is_found_in_a_long_log() {
    log_end_case(Arc::new(MemoryDag::<RawJson>::new())).await;
}

#[tokio::test]
async fn the_log_end_is_found_in_a_long_log_on_lmdb() {
    let dir = tempfile::tempdir().unwrap();
    let store = eventdag_lmdb::LmdbDag::<RawJson>::open(dir.path()).unwrap();
    log_end_case(Arc::new(store)).await;
}

/// 3,000 events: the probe steps past 1,024 and 2,048 and the binary
/// search lands on the last cursor exactly.
async fn log_end_case<S: eventdag_server::ServerStore>(store: Arc<S>) {
    let config = eventdag_server::ServerConfig {
        chains_scan_events: 10,
        ..test_config()
    };
    let api = Api::new(store, config);
    let batch: Vec<Value> = (0..3000).map(|n| json!({"payload": n})).collect();
    let reply = api.post("/v1/events:batch", &Value::Array(batch)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let last = id_of(&reply.json[2999]);
    let listing = api.get("/v1/chains").await.json;
    assert_eq!(listing["cursor"], 3000);
    assert_eq!(listing["scanned"], 10);
    assert_eq!(listed(&listing)[0], last);
}

#[tokio::test]
async fn pending_lists_unacknowledged_events_with_their_leases() {
    let store = Arc::new(MemoryDag::<RawJson>::new());
    let keyless = Api::new(Arc::clone(&store), test_config());
    let (api, tenant) = tenant_api(store.as_ref(), &keyless, "acme").await;
    let (other, _) = tenant_api(store.as_ref(), &keyless, "other").await;
    let first = id_of(
        &api.append(json!({"payload": 1, "flags": ["REQUIRES_ACK"]}))
            .await,
    );
    let second = id_of(
        &api.append(json!({"payload": 2, "flags": ["REQUIRES_ACK"]}))
            .await,
    );
    api.append(json!({"payload": 3})).await;
    let foreign = id_of(
        &other
            .append(json!({"payload": 4, "flags": ["REQUIRES_ACK"]}))
            .await,
    );
    let claim = api
        .post(
            "/v1/queue/claims",
            &json!({"consumer": "worker-7", "limit": 1, "lease_ms": 60_000}),
        )
        .await;
    assert_eq!(claim.status, StatusCode::OK, "{}", claim.text);

    let reply = api.get("/v1/queue/pending").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let rows = reply.json.as_array().unwrap().clone();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![first.as_str(), second.as_str()],
        "oldest first, unacked only"
    );
    assert!(!reply.text.contains(&foreign));
    assert_eq!(rows[0]["queue"]["attempts"], 1);
    assert_eq!(rows[0]["queue"]["lease"]["consumer"], "worker-7");
    assert_eq!(rows[0]["queue"]["tenant_id"], tenant.to_string());
    assert_eq!(rows[1]["queue"]["attempts"], 0);
    assert_eq!(rows[1]["queue"]["lease"], Value::Null);
    assert_eq!(
        api.get("/v1/queue/pending?limit=1")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        keyless.get("/v1/queue/pending").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Acknowledged: gone from the list.
    let ack = api
        .call(
            axum::http::Method::POST,
            &format!("/v1/events/{first}/ack"),
            None,
        )
        .await;
    assert_eq!(ack.status, StatusCode::OK);
    let rows = api.get("/v1/queue/pending").await.json;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["event"]["id"], second);
}
