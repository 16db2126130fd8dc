//! The routes of SPEC §7 doing their job.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use eventdag_server::ServerStore;
use serde_json::json;

use super::{id_of, test_config, Api};

pub async fn append_returns_201_with_the_stored_event<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let reply = api
        .post(
            "/v1/events",
            &json!({"payload": {"step": "plan"}, "kind": 0x4001, "flags": ["REQUIRES_ACK"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let event = &reply.json;
    for field in [
        "id",
        "tenant_id",
        "correlation_id",
        "parents",
        "timestamp",
        "position",
        "kind",
        "flags",
        "acknowledged",
        "payload",
        "hash",
    ] {
        assert!(event.get(field).is_some(), "missing {field} in {event}");
    }
    let id = id_of(event);
    assert_eq!(event["tenant_id"], json!(uuid::Uuid::nil()));
    assert_eq!(
        event["correlation_id"],
        json!(id),
        "a root is its own chain"
    );
    assert_eq!(
        event["position"],
        json!({"depth": 0, "lane": 0, "sequence": 0})
    );
    assert_eq!(event["kind"], json!(0x4001));
    assert_eq!(event["flags"], json!(["REQUIRES_ACK"]));
    assert_eq!(event["acknowledged"], json!(false));
    assert_eq!(event["payload"], json!({"step": "plan"}));
    assert_eq!(event["hash"].as_str().unwrap().len(), 64);
    assert_eq!(
        reply.headers["location"].to_str().unwrap(),
        format!("/v1/events/{id}")
    );
    let read = api.get(&format!("/v1/events/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(&read.json, event);
}

pub async fn children_walks_chain_and_kind_queries<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let root = api.append(json!({"payload": "root"})).await;
    let a = api
        .append(json!({"payload": "a", "parents": [id_of(&root)], "kind": 0x4000}))
        .await;
    let b = api
        .append(json!({"payload": "b", "parents": [id_of(&root)], "lane": 1, "kind": 0x4000}))
        .await;
    let merge = api
        .append(json!({"payload": "m", "parents": [id_of(&a), id_of(&b)]}))
        .await;
    assert_eq!(
        a["correlation_id"], root["id"],
        "children inherit the chain"
    );
    assert_eq!(a["position"], json!({"depth": 1, "lane": 0, "sequence": 1}));
    assert_eq!(b["position"], json!({"depth": 1, "lane": 1, "sequence": 0}));
    assert_eq!(merge["position"]["depth"], json!(2));

    let ids = |reply: &super::Reply| -> Vec<String> {
        reply.json.as_array().unwrap().iter().map(id_of).collect()
    };
    let ancestors = api
        .get(&format!("/v1/events/{}/ancestors", id_of(&merge)))
        .await;
    assert_eq!(ancestors.status, StatusCode::OK, "{}", ancestors.text);
    assert_eq!(
        ids(&ancestors),
        [id_of(&merge), id_of(&b), id_of(&a), id_of(&root)]
    );
    let limited = api
        .get(&format!("/v1/events/{}/ancestors?limit=2", id_of(&merge)))
        .await;
    assert_eq!(ids(&limited), [id_of(&merge), id_of(&b)]);
    let none = api
        .get(&format!("/v1/events/{}/ancestors?limit=0", id_of(&merge)))
        .await;
    assert_eq!(none.json, json!([]));
    let descendants = api
        .get(&format!("/v1/events/{}/descendants", id_of(&root)))
        .await;
    assert_eq!(
        ids(&descendants),
        [id_of(&root), id_of(&a), id_of(&b), id_of(&merge)]
    );
    let chain = api
        .get(&format!("/v1/correlations/{}/events", id_of(&root)))
        .await;
    assert_eq!(
        ids(&chain),
        [id_of(&root), id_of(&a), id_of(&b), id_of(&merge)]
    );
    let unknown_chain = api
        .get(&format!("/v1/correlations/{}/events", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(unknown_chain.json, json!([]));
    let notes = api.get("/v1/events?kind=16384").await;
    assert_eq!(notes.status, StatusCode::OK, "{}", notes.text);
    assert_eq!(ids(&notes), [id_of(&a), id_of(&b)]);
    let deep = api.get("/v1/events?kind=16384&min_depth=2").await;
    assert_eq!(deep.json, json!([]));
    let one = api.get("/v1/events?kind=16384&limit=1").await;
    assert_eq!(ids(&one), [id_of(&a)]);
}

pub async fn ack_unacked_and_signals<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let root = api.append(json!({"payload": 1})).await;
    let job = api
        .append(json!({"payload": 2, "parents": [id_of(&root)], "flags": ["REQUIRES_ACK"]}))
        .await;
    let queue = api.get("/v1/unacknowledged").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert_eq!(queue.json.as_array().unwrap().len(), 1);
    assert_eq!(id_of(&queue.json[0]), id_of(&job));

    let acked = api
        .call(
            Method::POST,
            &format!("/v1/events/{}/ack?upstream=true", id_of(&job)),
            None,
        )
        .await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text);
    assert_eq!(acked.json["acknowledged"], json!(true));
    assert!(acked.json["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("ACKNOWLEDGED")));
    let again = api
        .call(
            Method::POST,
            &format!("/v1/events/{}/ack", id_of(&job)),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "acknowledging is idempotent");
    assert_eq!(api.get("/v1/unacknowledged").await.json, json!([]));

    let sent = api
        .post(
            &format!("/v1/events/{}/signals", id_of(&job)),
            &json!({"type": "error_propagation", "source_event_id": id_of(&job), "error_code": 7, "message": "disk"}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let signals = api
        .get(&format!("/v1/events/{}/signals", id_of(&root)))
        .await;
    assert_eq!(signals.status, StatusCode::OK);
    let types: Vec<&str> = signals
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signal"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["ack", "error_propagation"], "{}", signals.text);
    assert_eq!(signals.json[1]["delivered_to"], json!([id_of(&root)]));
}

pub async fn batch_is_all_or_none<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let first = uuid::Uuid::now_v7();
    let batch = json!([
        {"payload": 1, "id": first},
        {"payload": 2, "parents": [first]},
        {"payload": 3, "parents": [first], "lane": 4},
    ]);
    let reply = api.post("/v1/events:batch", &batch).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let events = reply.json.as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[1]["position"],
        json!({"depth": 1, "lane": 0, "sequence": 1})
    );
    assert_eq!(
        events[2]["position"],
        json!({"depth": 1, "lane": 4, "sequence": 0})
    );

    let missing = uuid::Uuid::now_v7();
    let bad = json!([{"payload": "kept?"}, {"payload": "x", "parents": [missing]}]);
    let refused = api.post("/v1/events:batch", &bad).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    assert!(refused.message().contains(&missing.to_string()));
    let chain = api.get("/v1/next-position?lane=0").await;
    assert_eq!(
        chain.json["sequence"],
        json!(2),
        "nothing of the refused batch was stored"
    );
    let empty = api.post("/v1/events:batch", &json!([])).await;
    assert_eq!(empty.status, StatusCode::CREATED);
    assert_eq!(empty.json, json!([]));
}

pub async fn client_id_makes_retries_idempotent<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let id = uuid::Uuid::now_v7();
    let body = json!({"payload": {"n": 1}, "id": id});
    let first = api.append(body.clone()).await;
    let retry = api.post("/v1/events", &body).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.json, first);
    let other = api
        .post("/v1/events", &json!({"payload": {"n": 2}, "id": id}))
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.text);
    assert_eq!(other.code(), "conflict");
    assert!(other.message().contains("payload"), "{}", other.text);
}

pub async fn explicit_position_conflict_and_cancelled_chain<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let root = api
        .append(json!({"payload": 0, "position": {"depth": 0, "lane": 0, "sequence": 0}}))
        .await;
    let taken = api
        .post(
            "/v1/events",
            &json!({"payload": 1, "position": {"depth": 0, "lane": 0, "sequence": 0}}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert!(
        taken.message().contains("next free sequence is 1"),
        "{}",
        taken.text
    );
    let wrong_depth = api
        .post(
            "/v1/events",
            &json!({"payload": 1, "parents": [id_of(&root)], "position": {"depth": 5, "lane": 0, "sequence": 1}}),
        )
        .await;
    // The depth disagrees with the stored parent's: a conflict with the
    // stored graph, like a taken sequence.
    assert_eq!(
        wrong_depth.status,
        StatusCode::CONFLICT,
        "{}",
        wrong_depth.text
    );
    assert_eq!(wrong_depth.code(), "conflict");

    let cancel = api
        .post(
            &format!("/v1/events/{}/signals", id_of(&root)),
            &json!({"type": "cancel", "correlation_id": id_of(&root), "reason": "user aborted"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::CREATED, "{}", cancel.text);
    let refused = api
        .post(
            "/v1/events",
            &json!({"payload": 2, "parents": [id_of(&root)]}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.code(), "cancelled");
    assert!(refused.message().contains("user aborted"));
}

pub async fn backpressure_is_429_with_retry_after<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let root = api.append(json!({"payload": 0})).await;
    let until = eventdag::now_micros() + 2_500_000;
    let hold = api
        .post(
            &format!("/v1/events/{}/signals", id_of(&root)),
            &json!({"type": "backpressure", "until": until}),
        )
        .await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    let refused = api
        .post(
            "/v1/events",
            &json!({"payload": 1, "parents": [id_of(&root)]}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text
    );
    assert_eq!(refused.code(), "backpressure");
    let seconds: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&seconds), "Retry-After {seconds}");
    let other_chain = api.post("/v1/events", &json!({"payload": 2})).await;
    assert_eq!(
        other_chain.status,
        StatusCode::CREATED,
        "other chains are not held"
    );
}

pub async fn next_position_and_verify<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let root = api.append(json!({"payload": 0, "lane": 3})).await;
    let next = api
        .get(&format!("/v1/next-position?parent={}", id_of(&root)))
        .await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.text);
    assert_eq!(next.json, json!({"depth": 1, "lane": 3, "sequence": 1}));
    let on_lane = api
        .get(&format!("/v1/next-position?parent={}&lane=0", id_of(&root)))
        .await;
    assert_eq!(on_lane.json, json!({"depth": 1, "lane": 0, "sequence": 0}));
    let root_pos = api.get("/v1/next-position").await;
    assert_eq!(root_pos.json, json!({"depth": 0, "lane": 0, "sequence": 0}));
    let verify = api
        .get(&format!("/v1/events/{}/verify", id_of(&root)))
        .await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.text);
    assert_eq!(verify.json["checked"], json!(1));
    assert_eq!(verify.json["first_mismatch"], json!(null));
}

pub async fn health_metrics_and_page<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let health = api.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json, json!({"status": "ok"}));
    let event = api.append(json!({"payload": 0})).await;
    api.get(&format!("/v1/events/{}", id_of(&event))).await;
    api.get(&format!("/v1/events/{}", uuid::Uuid::now_v7()))
        .await;
    let metrics = api.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = &metrics.text;
    assert!(
        text.contains(
            r#"eventdag_http_requests_total{method="GET",route="/v1/events/{id}",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"eventdag_http_requests_total{method="GET",route="/v1/events/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("eventdag_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"eventdag_store_operation_duration_seconds_count{operation="append",outcome="ok"} 1"#
        ),
        "{text}"
    );
    let page = api.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let nowhere = api.get("/v2/nothing").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_eq!(nowhere.code(), "no_route");
    let wrong_method = api.call(Method::DELETE, "/v1/events", None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
}

pub async fn concurrent_appends_on_one_lane_all_succeed<S: ServerStore>(store: Arc<S>) {
    // The store assigns positions atomically: many clients appending to
    // the same lane at once, singly or in batches, never see a sequence
    // conflict, and a batch takes consecutive sequences.
    let api = Api::new(store, test_config());
    let root = api.append(json!({"payload": "root"})).await;
    let mut tasks = Vec::new();
    for n in 0..96 {
        let api = api.clone();
        let parent = id_of(&root);
        tasks.push(tokio::spawn(async move {
            let reply = match n % 3 {
                0 => api.post("/v1/events", &json!({"payload": n})).await,
                1 => {
                    let body = json!({"payload": n, "parents": [parent]});
                    api.post("/v1/events", &body).await
                }
                _ => {
                    let batch = json!([{"payload": n}, {"payload": n, "parents": [parent]}]);
                    api.post("/v1/events:batch", &batch).await
                }
            };
            (n, reply)
        }));
    }
    let mut sequences = Vec::new();
    for task in tasks {
        let (n, reply) = task.await.unwrap();
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        if n % 3 == 2 {
            let events = reply.json.as_array().unwrap();
            let first = events[0]["position"]["sequence"].as_u64().unwrap();
            let second = events[1]["position"]["sequence"].as_u64().unwrap();
            assert_eq!(second, first + 1, "a batch takes consecutive sequences");
            sequences.extend([first, second]);
        } else {
            sequences.push(reply.json["position"]["sequence"].as_u64().unwrap());
        }
    }
    sequences.sort_unstable();
    assert_eq!(
        sequences,
        (1..=128).collect::<Vec<u64>>(),
        "gap-free, no duplicates"
    );
}
