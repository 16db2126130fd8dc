//! The work-queue routes (docs/queues.md) over the in-memory store: the
//! rules themselves are the conformance suite's; here, what HTTP adds —
//! bodies and their limits, statuses, tenancy, the long poll.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use eventdag::{MemoryDag, RawJson};
use serde_json::json;

use common::{id_of, tenant_api, test_config, Api};

async fn job(api: &Api, n: u64) -> String {
    id_of(
        &api.append(json!({"payload": {"job": n}, "flags": ["REQUIRES_ACK"]}))
            .await,
    )
}

#[tokio::test]
async fn claim_extend_release_ack_over_http() {
    let api = Api::new(Arc::new(MemoryDag::<RawJson>::new()), test_config());
    let first = job(&api, 1).await;
    let second = job(&api, 2).await;
    let reply = api
        .post(
            "/v1/queue/claims",
            &json!({"consumer": "w1", "limit": 1, "lease_ms": 60_000}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let claimed = reply.json.as_array().unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(id_of(&claimed[0]["event"]), first);
    assert_eq!(claimed[0]["attempt"], 1);
    let token = claimed[0]["lease"]["token"].as_str().unwrap().to_owned();
    let deadline = claimed[0]["lease"]["deadline"].as_u64().unwrap();

    let state = api.get(&format!("/v1/queue/events/{first}")).await;
    assert_eq!(state.json["attempts"], 1);
    assert_eq!(state.json["lease"]["consumer"], "w1");

    let extended = api
        .post(
            &format!("/v1/queue/leases/{first}/extend"),
            &json!({"token": token, "lease_ms": 120_000}),
        )
        .await;
    assert_eq!(extended.status, StatusCode::OK, "{}", extended.text);
    assert!(extended.json["deadline"].as_u64().unwrap() > deadline + 50_000_000);

    // A stranger's token is refused while the lease is valid.
    let stranger = api
        .post(
            &format!("/v1/queue/leases/{first}/ack"),
            &json!({"token": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::CONFLICT);
    assert_eq!(stranger.code(), "lease_conflict");

    let released = api
        .post(
            &format!("/v1/queue/leases/{first}/release"),
            &json!({"token": token}),
        )
        .await;
    assert_eq!(released.status, StatusCode::NO_CONTENT, "{}", released.text);
    let again = api
        .post(
            "/v1/queue/claims",
            &json!({"consumer": "w2", "limit": 5, "lease_ms": 60_000}),
        )
        .await;
    let again = again.json.as_array().unwrap().clone();
    assert_eq!(
        again.iter().map(|c| id_of(&c["event"])).collect::<Vec<_>>(),
        vec![first.clone(), second]
    );
    assert_eq!(again[0]["attempt"], 2);
    let token = again[0]["lease"]["token"].as_str().unwrap();
    let acked = api
        .post(
            &format!("/v1/queue/leases/{first}/ack"),
            &json!({"token": token, "upstream": false}),
        )
        .await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text);
    assert_eq!(acked.json["acknowledged"], true);
    // The old token is stale now.
    let stale = api
        .post(
            &format!("/v1/queue/leases/{first}/extend"),
            &json!({"token": token, "lease_ms": 1_000}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn bodies_outside_their_schema_are_refused() {
    let api = Api::new(Arc::new(MemoryDag::<RawJson>::new()), test_config());
    let bad = [
        json!({"consumer": "", "lease_ms": 1000}),
        json!({"consumer": "x".repeat(51), "lease_ms": 1000}),
        json!({"consumer": "w", "lease_ms": 0}),
        json!({"consumer": "w", "lease_ms": 86_400_001u64}),
        json!({"consumer": "w", "lease_ms": 1000, "limit": 1001}),
        json!({"consumer": "w", "lease_ms": 1000, "wait_ms": 1001}),
        json!({"consumer": "w", "lease_ms": 1000, "max_attempts": 0}),
        json!({"consumer": "w", "lease_ms": 1000, "surprise": true}),
        json!({"lease_ms": 1000}),
    ];
    for body in bad {
        let reply = api.post("/v1/queue/claims", &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
    }
    // 50 four-byte characters are within the store's 200 bytes.
    let wide = api
        .post(
            "/v1/queue/claims",
            &json!({"consumer": "😀".repeat(50), "lease_ms": 1000}),
        )
        .await;
    assert_eq!(wide.status, StatusCode::OK, "{}", wide.text);
}

#[tokio::test]
async fn long_poll_answers_when_work_arrives() {
    let api = Api::new(Arc::new(MemoryDag::<RawJson>::new()), test_config());
    let started = Instant::now();
    let empty = api
        .post(
            "/v1/queue/claims",
            &json!({"consumer": "w", "lease_ms": 1000, "wait_ms": 300}),
        )
        .await;
    assert_eq!(empty.json, json!([]));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "did not wait"
    );
    let poller = {
        let api = api.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let reply = api
                .post(
                    "/v1/queue/claims",
                    &json!({"consumer": "w", "lease_ms": 1000, "wait_ms": 1000}),
                )
                .await;
            (reply, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let id = job(&api, 1).await;
    let (reply, waited) = poller.await.unwrap();
    assert_eq!(reply.json.as_array().unwrap().len(), 1, "{}", reply.text);
    assert_eq!(id_of(&reply.json[0]["event"]), id);
    assert!(waited < Duration::from_millis(900), "woke late: {waited:?}");
}

#[tokio::test]
async fn dead_letters_listed_and_requeued_per_tenant() {
    let store = Arc::new(MemoryDag::<RawJson>::new());
    let root = Api::new(Arc::clone(&store), test_config());
    let (api, _) = tenant_api(&*store, &root, "queue-a").await;
    let (other, _) = tenant_api(&*store, &root, "queue-b").await;
    let id = job(&api, 1).await;
    let claim = json!({"consumer": "w", "lease_ms": 60_000, "max_attempts": 1});
    let claimed = api.post("/v1/queue/claims", &claim).await.json;
    let token = claimed[0]["lease"]["token"].as_str().unwrap();
    api.post(
        &format!("/v1/queue/leases/{id}/release"),
        &json!({"token": token}),
    )
    .await;
    assert_eq!(api.post("/v1/queue/claims", &claim).await.json, json!([]));
    let dead = api.get("/v1/queue/dead-letters").await;
    assert_eq!(dead.status, StatusCode::OK);
    assert_eq!(id_of(&dead.json[0]["event"]), id);
    assert_eq!(dead.json[0]["attempts"], 1);
    assert_eq!(dead.json[0]["last_consumer"], "w");
    assert_eq!(other.get("/v1/queue/dead-letters").await.json, json!([]));
    let foreign = other
        .call(
            Method::POST,
            &format!("/v1/queue/dead-letters/{id}/requeue"),
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.get(&format!("/v1/queue/events/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let requeued = api
        .call(
            Method::POST,
            &format!("/v1/queue/dead-letters/{id}/requeue"),
            None,
        )
        .await;
    assert_eq!(requeued.status, StatusCode::NO_CONTENT, "{}", requeued.text);
    let back = api.post("/v1/queue/claims", &claim).await.json;
    assert_eq!(back[0]["attempt"], 1);
}
