//! Malformed input: 4xx naming the field, nothing stored.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use eventdag::DEFAULT_TENANT;
use eventdag_server::{ServerConfig, ServerStore};
use serde_json::json;

use super::{id_of, test_config, Api};

async fn assert_nothing_stored<S: ServerStore>(store: &S) {
    let stored = store
        .events_after(DEFAULT_TENANT, 0, 100)
        .await
        .ok()
        .unwrap();
    assert!(stored.is_empty(), "stored: {stored:?}");
}

pub async fn bad_bodies_are_400_naming_the_field<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(Arc::clone(&store), test_config());
    let cases: &[(&str, &str)] = &[
        ("{", "body"),
        ("", "body"),
        ("[1,2]", "body"),
        (r#"{"payload": 1} trailing"#, "body"),
        (r#"{"parents": []}"#, "payload"),
        (r#"{"payload": 1, "colour": "red"}"#, "colour"),
        (
            r#"{"payload": 1, "tenant_id": "00000000-0000-0000-0000-000000000000"}"#,
            "tenant_id",
        ),
        (r#"{"payload": 1, "kind": 70000}"#, "kind"),
        (r#"{"payload": 1, "kind": -1}"#, "kind"),
        (r#"{"payload": 1, "kind": "note"}"#, "kind"),
        (r#"{"payload": 1, "flags": ["URGENT"]}"#, "flags"),
        (r#"{"payload": 1, "flags": ["RESERVED"]}"#, "flags"),
        (r#"{"payload": 1, "flags": ["ACKNOWLEDGED"]}"#, "flags"),
        (r#"{"payload": 1, "flags": 300}"#, "flags"),
        (r#"{"payload": 1, "parents": ["nope"]}"#, "parents[0]"),
        (r#"{"payload": 1, "parents": "x"}"#, "parents"),
        (r#"{"payload": 1, "lane": -3}"#, "lane"),
        (r#"{"payload": 1, "lane": "one"}"#, "lane"),
        (
            r#"{"payload": 1, "id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}"#,
            "id",
        ),
        (r#"{"payload": 1, "correlation_id": 5}"#, "correlation_id"),
        (
            r#"{"payload": 1, "position": {"depth": 0, "lane": 0}}"#,
            "position",
        ),
        (
            r#"{"payload": 1, "position": {"depth": 0, "lane": 0, "sequence": 0, "x": 1}}"#,
            "position",
        ),
        (
            r#"{"payload": 1, "position": {"depth": 0, "lane": 1, "sequence": 0}, "lane": 2}"#,
            "lane",
        ),
    ];
    for (body, field) in cases {
        let reply = api.call(Method::POST, "/v1/events", Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.code(), "invalid_input", "{body}");
        assert!(
            reply.message().contains(field),
            "{body}: message should name {field}: {}",
            reply.message()
        );
    }
    let batch_cases: &[(&str, &str)] = &[
        (r#"{"payload": 1}"#, "body"),
        (
            r#"[{"payload": 1}, {"payload": 2, "kind": 99999}]"#,
            "[1].kind",
        ),
        (
            r#"[{"payload": 1}, {"payload": 2, "id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}]"#,
            "[1].event_id",
        ),
    ];
    for (body, field) in batch_cases {
        let reply = api.call(Method::POST, "/v1/events:batch", Some(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
        assert!(
            reply.message().contains(field),
            "{body}: {}",
            reply.message()
        );
    }
    let signal_cases: &[(&str, &str)] = &[
        (r#"{"type": "explode"}"#, "explode"),
        (r#"{"type": "backpressure"}"#, "until"),
        (
            r#"{"type": "backpressure", "until": 1, "extra": 2}"#,
            "extra",
        ),
        (r#"{"type": "ack", "event_id": "zzz"}"#, "event_id"),
        (r#"{"type": "cancel", "reason": "r"}"#, "correlation_id"),
        (
            r#"{"type": "ack", "event_id": "0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60", "until": 1}"#,
            "until",
        ),
        (r#"{"until": 1}"#, "type"),
        (r#"[{"type": "ack"}]"#, "object"),
    ];
    // Signals need an event to be sent from; it is removed from the count.
    let from = api.append(json!({"payload": "from"})).await;
    for (body, needle) in signal_cases {
        let reply = api
            .call(
                Method::POST,
                &format!("/v1/events/{}/signals", id_of(&from)),
                Some(body),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
        assert!(
            reply.message().contains(needle),
            "{body}: {}",
            reply.message()
        );
    }
    let signals = store
        .signals_after(DEFAULT_TENANT, 0, 100)
        .await
        .ok()
        .unwrap();
    assert!(signals.is_empty(), "no signal stored: {signals:?}");
    let stored = store
        .events_after(DEFAULT_TENANT, 0, 100)
        .await
        .ok()
        .unwrap();
    assert_eq!(stored.len(), 1, "only the sender was stored");
}

pub async fn bad_paths_and_queries_are_400_naming_the_parameter<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(Arc::clone(&store), test_config());
    let id = uuid::Uuid::now_v7();
    let cases: Vec<(Method, String, &str)> = vec![
        (Method::GET, "/v1/events/not-a-uuid".into(), "id"),
        (Method::GET, "/v1/events/not-a-uuid/ancestors".into(), "id"),
        (
            Method::GET,
            format!("/v1/events/{id}/ancestors?limit=-1"),
            "limit",
        ),
        (
            Method::GET,
            format!("/v1/events/{id}/ancestors?limit=ten"),
            "limit",
        ),
        (
            Method::GET,
            format!("/v1/events/{id}/ancestors?depth=3"),
            "depth",
        ),
        (
            Method::GET,
            format!("/v1/events/{id}/descendants?limit=1&limit=2"),
            "limit",
        ),
        (Method::GET, format!("/v1/events/{id}?verbose=1"), "verbose"),
        (
            Method::GET,
            "/v1/correlations/xyz/events".into(),
            "correlation_id",
        ),
        (Method::GET, "/v1/events".into(), "kind"),
        (Method::GET, "/v1/events?kind=65536".into(), "kind"),
        (Method::GET, "/v1/events?kind=-1".into(), "kind"),
        (Method::GET, "/v1/events?kind=1&sort=asc".into(), "sort"),
        (
            Method::POST,
            format!("/v1/events/{id}/ack?upstream=maybe"),
            "upstream",
        ),
        (Method::POST, format!("/v1/events/{id}/ack?up=true"), "up"),
        (Method::GET, "/v1/unacknowledged?limit=x".into(), "limit"),
        (Method::GET, "/v1/next-position?parent=abc".into(), "parent"),
        (Method::GET, "/v1/next-position?lane=-2".into(), "lane"),
        (Method::GET, "/v1/next-position?tenant=1".into(), "tenant"),
        (Method::GET, "/v1/streams/events?kind=x".into(), "kind"),
        (
            Method::GET,
            "/v1/streams/events?correlation_id=x".into(),
            "correlation_id",
        ),
        (
            Method::GET,
            "/v1/streams/signals?event_id=x".into(),
            "event_id",
        ),
        (Method::GET, "/v1/streams/signals?foo=1".into(), "foo"),
        (Method::POST, "/v1/events?dry_run=1".into(), "dry_run"),
    ];
    // An empty depth range is no error: it holds no event (the schema
    // cannot say "min_depth <= max_depth", so a schema-valid request is
    // not refused for it).
    let empty = api
        .call(
            Method::GET,
            "/v1/events?kind=1&min_depth=5&max_depth=2",
            None,
        )
        .await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
    assert_eq!(empty.json, serde_json::json!([]));
    for (method, uri, field) in cases {
        let body = (method == Method::POST).then_some(r#"{"payload": 1}"#);
        let reply = api.call(method.clone(), &uri, body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {uri}: {}",
            reply.text
        );
        assert!(
            reply.message().contains(field),
            "{method} {uri}: should name {field}: {}",
            reply.message()
        );
    }
    let mut request = api.request(Method::GET, "/v1/streams/events", None);
    request
        .headers_mut()
        .insert("last-event-id", "yesterday".parse().unwrap());
    let reply = api.send(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.message().contains("Last-Event-ID"));
    assert_nothing_stored(store.as_ref()).await;
}

pub async fn oversized_bodies_and_payloads_are_413<S: ServerStore>(store: Arc<S>) {
    let config = ServerConfig {
        max_body_bytes: 64 * 1024,
        ..test_config()
    };
    let api = Api::new(Arc::clone(&store), config);
    let big = json!({"payload": "x".repeat(100 * 1024)});
    let reply = api.post("/v1/events", &big).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert_eq!(reply.code(), "payload_too_large");
    assert!(reply.message().contains("65536"), "{}", reply.text);
    // Within the body limit but over the store's payload limit (1 MiB).
    let roomy = Api::new(Arc::clone(&store), test_config());
    let huge = json!({"payload": "y".repeat(1024 * 1024 + 10)});
    let reply = roomy.post("/v1/events", &huge).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert!(reply.message().contains("payload"), "{}", reply.text);
    assert_nothing_stored(store.as_ref()).await;
}
