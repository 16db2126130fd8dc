//! Browser safety, bounded metrics and explained inputs, against the
//! router (and, for the 413 a client reads after sending its whole body,
//! a real socket). Each case names the attack or defect it stops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use eventdag::RawJson;
use eventdag::{EventDag, MemoryDag};
use eventdag_server::{create_tenant, serve_listener, AppState, ServerConfig};

use common::{test_config, Api};

fn store() -> Arc<MemoryDag<RawJson>> {
    Arc::new(MemoryDag::new())
}

fn post(uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Body> {
    let mut builder = Request::builder().method(Method::POST).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

fn get(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(Method::GET).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

/// A web page can post `text/plain` or a form without a preflight: such
/// bodies are refused (415) and store nothing.
#[tokio::test]
async fn cross_site_simple_bodies_are_415_and_store_nothing() {
    let store = store();
    let api = Api::new(Arc::clone(&store), test_config());
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let reply = api
            .send(post(
                "/v1/events",
                &[("content-type", content_type)],
                r#"{"payload": 1}"#,
            ))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert_eq!(reply.code(), "unsupported_media_type");
        assert!(
            reply.message().contains("application/json"),
            "{}",
            reply.message()
        );
    }
    let missing = api.send(post("/v1/events", &[], r#"{"payload": 1}"#)).await;
    assert_eq!(missing.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(store.unacknowledged(10).await.is_ok());
    assert_eq!(
        store.next_position(None, 0).await.ok().unwrap().sequence,
        0,
        "nothing stored"
    );
    let json = api
        .send(post(
            "/v1/events",
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"payload": 1}"#,
        ))
        .await;
    assert_eq!(json.status, StatusCode::CREATED, "{}", json.text);
}

/// Browsers send `Origin` on cross-site posts, whatever the body (an
/// empty `fetch` POST to `/ack` included): a foreign origin is 403; the
/// server's own pages and configured origins pass.
#[tokio::test]
async fn foreign_origins_are_403_own_and_configured_pass() {
    let store = store();
    let api = Api::new(Arc::clone(&store), test_config());
    let host = ("host", "127.0.0.1:7400");
    let foreign = api
        .send(post(
            "/v1/events",
            &[
                host,
                ("origin", "http://evil.example"),
                ("content-type", "application/json"),
            ],
            r#"{"payload": 1}"#,
        ))
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.text);
    assert_eq!(foreign.code(), "forbidden");
    let own = api
        .send(post(
            "/v1/events",
            &[
                host,
                ("origin", "http://127.0.0.1:7400"),
                ("content-type", "application/json"),
            ],
            r#"{"payload": 1}"#,
        ))
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text);
    let id = own.json["id"].as_str().unwrap().to_owned();
    let empty_ack = api
        .send(post(
            &format!("/v1/events/{id}/ack"),
            &[host, ("origin", "null")],
            "",
        ))
        .await;
    assert_eq!(
        empty_ack.status,
        StatusCode::FORBIDDEN,
        "an opaque origin is foreign"
    );

    let config = ServerConfig {
        cors_origins: vec!["https://app.example".into()],
        ..test_config()
    };
    let cors = Api::new(store, config);
    let preflight = cors
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/v1/events")
                .header("host", "127.0.0.1:7400")
                .header("origin", "https://app.example")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let allowed = cors
        .send(post(
            "/v1/events",
            &[
                host,
                ("origin", "https://app.example"),
                ("content-type", "application/json"),
            ],
            r#"{"payload": 2}"#,
        ))
        .await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.text);
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let other = cors
        .send(get(
            "/healthz",
            &[host, ("origin", "https://other.example")],
        ))
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert!(!other.headers.contains_key("access-control-allow-origin"));
}

/// DNS rebinding: a page at `evil.example` resolved to 127.0.0.1 talks to
/// the keyless server with `Host: evil.example`. Refused (403) until a
/// key exists or the name is allowed.
#[tokio::test]
async fn keyless_server_answers_only_loopback_hosts() {
    let store = store();
    let api = Api::new(Arc::clone(&store), test_config());
    for host in [
        "127.0.0.1:7400",
        "localhost:7400",
        "[::1]:7400",
        "localhost",
    ] {
        let reply = api.send(get("/healthz", &[("host", host)])).await;
        assert_eq!(reply.status, StatusCode::OK, "{host}");
    }
    for uri in ["/healthz", "/", "/v1/unacknowledged"] {
        let reply = api.send(get(uri, &[("host", "evil.example:7400")])).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(
            reply.message().contains("allowed_hosts"),
            "{}",
            reply.message()
        );
    }
    let config = ServerConfig {
        allowed_hosts: vec!["dag.internal".into()],
        ..test_config()
    };
    let named = Api::new(Arc::clone(&store), config);
    let reply = named
        .send(get("/healthz", &[("host", "dag.internal:7400")]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "an allowed name, any port");

    create_tenant(store.as_ref(), "acme").await.unwrap();
    let reply = api
        .send(get("/healthz", &[("host", "evil.example:7400")]))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "with keys, every request is authenticated"
    );
}

/// 401 says how to authenticate.
#[tokio::test]
async fn unauthorized_carries_www_authenticate() {
    let store = store();
    create_tenant(store.as_ref(), "acme").await.unwrap();
    let api = Api::new(store, test_config());
    let reply = api.call(Method::GET, "/v1/unacknowledged", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer realm=\"eventdag\""
    );
}

/// Invented methods add no series; store refusals are told from
/// failures; appends are counted.
#[tokio::test]
async fn metrics_are_bounded_and_split_refusals_from_failures() {
    let api = Api::new(store(), test_config());
    for method in ["XMETHOD1", "XMETHOD2", "BREW"] {
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri("/healthz")
            .body(Body::empty())
            .unwrap();
        api.send(request).await;
    }
    let created = api
        .call(Method::POST, "/v1/events", Some(r#"{"payload": 1}"#))
        .await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    let body = format!(
        r#"{{"payload": 1, "position": {{"depth": 0, "lane": 0, "sequence": 0}}, "id": "{id}"}}"#
    );
    let conflict = api
        .call(Method::POST, "/v1/events", Some(&body.replace("1,", "2,")))
        .await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.text);
    let metrics = api.call(Method::GET, "/metrics", None).await.text;
    assert!(
        !metrics.contains("XMETHOD") && !metrics.contains("BREW"),
        "{metrics}"
    );
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
    assert!(
        metrics.contains(r#"eventdag_store_operation_duration_seconds_count{operation="append",outcome="refused"} 1"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"outcome="error""#), "{metrics}");
    assert!(
        metrics.contains("eventdag_events_appended_total 1"),
        "{metrics}"
    );
}

/// Parse errors name the parameter, the value and what is accepted; a
/// limit too large for any integer is capped like any large one.
#[tokio::test]
async fn query_errors_say_what_is_accepted_and_huge_limits_are_capped() {
    let api = Api::new(store(), test_config());
    let reply = api
        .call(Method::GET, "/v1/unacknowledged?limit=-1", None)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = reply.message();
    assert!(
        message.contains("limit") && message.contains("\"-1\""),
        "{message}"
    );
    assert!(message.contains("accepted: a whole number"), "{message}");
    let kind = api.call(Method::GET, "/v1/events?kind=70000", None).await;
    assert!(kind.message().contains("0 to 65535"), "{}", kind.message());
    let huge = api
        .call(
            Method::GET,
            "/v1/unacknowledged?limit=123456789012345678901234567890",
            None,
        )
        .await;
    assert_eq!(huge.status, StatusCode::OK, "{}", huge.text);
}

/// A backpressure `until` beyond the horizon (here `u64::MAX`, 585,000
/// years) is lowered to now + `max_backpressure`, and the answer shows
/// the `until` stored; the chain is held for at most the horizon.
#[tokio::test]
async fn backpressure_beyond_the_horizon_is_lowered_to_it() {
    let config = ServerConfig {
        max_backpressure: std::time::Duration::from_secs(60),
        ..test_config()
    };
    let api = Api::new(store(), config);
    let created = api
        .call(Method::POST, "/v1/events", Some(r#"{"payload": 1}"#))
        .await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    let before = eventdag::now_micros();
    let body = format!(r#"{{"type": "backpressure", "until": {}}}"#, u64::MAX);
    let reply = api
        .call(
            Method::POST,
            &format!("/v1/events/{id}/signals"),
            Some(&body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let until = reply.json["signal"]["until"].as_u64().unwrap();
    assert!(
        until >= before + 60_000_000 && until <= eventdag::now_micros() + 60_000_000,
        "{until}"
    );
    let held = api
        .call(
            Method::POST,
            "/v1/events",
            Some(&format!(r#"{{"payload": 2, "parents": ["{id}"]}}"#)),
        )
        .await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = held.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry_after <= 60,
        "held at most the horizon: {retry_after} s"
    );
}

/// A client that writes its whole (too large) body before it reads, as
/// Python's urllib does, reads the 413 — not a connection reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_sent_in_full_reads_413() {
    let config = ServerConfig {
        max_body_bytes: 64 * 1024,
        ..test_config()
    };
    let state = AppState::new(store(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(state, listener, async {
        let _ = stopped.await;
    }));
    let status_line = tokio::task::spawn_blocking(move || {
        let body = vec![b' '; 1024 * 1024];
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        write!(
            socket,
            "POST /v1/events HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        socket.write_all(&body).unwrap();
        let mut answer = Vec::new();
        socket.read_to_end(&mut answer).unwrap_or_default();
        String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_owned()
    })
    .await
    .unwrap();
    assert!(status_line.contains("413"), "{status_line:?}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A web page cannot make a local keyless server forget: simple bodies to
/// the forgetting routes are 415, requests from a foreign origin or a
/// rebinding `Host` are 403, and nothing changes.
#[tokio::test]
async fn web_pages_cannot_drive_forgetting() {
    use eventdag::{EventDagExt, Forgetting, NewEvent, RetentionPolicy, RetentionRule};
    let store = store();
    let api = Api::new(Arc::clone(&store), test_config());
    let event = store
        .append_new(NewEvent::new(RawJson::from_text(r#"{"keep":1}"#).unwrap()))
        .await
        .into_result()
        .unwrap();
    let id = event.id();
    let policy = RetentionPolicy {
        rules: vec![RetentionRule {
            kind: None,
            max_age_seconds: 1,
        }],
    };
    store
        .set_retention_policy(eventdag::DEFAULT_TENANT, Some(policy.clone()))
        .await
        .into_result()
        .unwrap();
    let request = |method: Method, uri: &str, headers: &[(&str, &str)], body: &str| {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::from(body.to_owned())).unwrap()
    };
    let redact = format!("/v1/events/{id}/redact");
    let chain = format!("/v1/correlations/{id}?older_than=9223372036854775807");
    let plain = [("content-type", "text/plain")];
    for (method, uri) in [
        (Method::POST, redact.as_str()),
        (Method::PUT, "/v1/retention"),
    ] {
        let reply = api
            .send(request(method.clone(), uri, &plain, r#"{"reason":"x"}"#))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{method} {uri}"
        );
    }
    let json = ("content-type", "application/json");
    for headers in [
        [("origin", "http://evil.example"), json],
        [("host", "evil.example"), json],
    ] {
        for (method, uri, body) in [
            (Method::POST, redact.as_str(), r#"{"reason":"x"}"#),
            (Method::DELETE, "/v1/retention", ""),
            (Method::POST, "/v1/retention/run?dry_run=false", ""),
            (Method::DELETE, chain.as_str(), ""),
            (Method::DELETE, "/v1/admin/tenants/x", ""),
        ] {
            let reply = api.send(request(method.clone(), uri, &headers, body)).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{method} {uri} {headers:?}"
            );
        }
    }
    let read = store.read(id).await.into_result().unwrap();
    assert!(read.redaction.is_none(), "not redacted");
    assert_eq!(
        store.retention_policies().await.into_result().unwrap(),
        vec![(eventdag::DEFAULT_TENANT, policy)],
        "the policy stays"
    );
}
