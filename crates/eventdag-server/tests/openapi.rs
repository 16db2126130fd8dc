//! The OpenAPI document lists every route, and every route it lists is
//! served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use eventdag::MemoryDag;
use eventdag::RawJson;

use common::{test_config, Api};

/// SPEC §7's routes plus the streams and verification this server adds.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/events"),
    ("post", "/v1/events:batch"),
    ("get", "/v1/events/{id}"),
    ("get", "/v1/events/{id}/ancestors"),
    ("get", "/v1/events/{id}/descendants"),
    ("get", "/v1/correlations/{correlation_id}/events"),
    ("get", "/v1/events"),
    ("post", "/v1/events/{id}/ack"),
    ("get", "/v1/chains"),
    ("get", "/v1/unacknowledged"),
    ("post", "/v1/events/{id}/signals"),
    ("get", "/v1/events/{id}/signals"),
    ("get", "/v1/events/{id}/verify"),
    ("get", "/v1/next-position"),
    ("post", "/v1/queue/claims"),
    ("post", "/v1/queue/leases/{id}/extend"),
    ("post", "/v1/queue/leases/{id}/release"),
    ("post", "/v1/queue/leases/{id}/ack"),
    ("get", "/v1/queue/events/{id}"),
    ("get", "/v1/queue/pending"),
    ("get", "/v1/queue/dead-letters"),
    ("post", "/v1/queue/dead-letters/{id}/requeue"),
    ("get", "/v1/streams/events"),
    ("get", "/v1/streams/signals"),
    ("post", "/v1/events/{id}/redact"),
    ("get", "/v1/retention"),
    ("put", "/v1/retention"),
    ("delete", "/v1/retention"),
    ("post", "/v1/retention/run"),
    ("delete", "/v1/correlations/{correlation_id}"),
    ("delete", "/v1/admin/tenants/{tenant}"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/"),
];

#[tokio::test]
async fn openapi_lists_every_route_and_every_listed_route_is_served() {
    let api = Api::new(Arc::new(MemoryDag::<RawJson>::new()), test_config());
    let reply = api.get("/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut listed = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            listed.insert((method.clone(), path.clone()));
        }
    }
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(listed, expected, "document and route list differ");
    // Every listed operation reaches a handler (not the no-route fallback
    // nor 405).
    let id = uuid::Uuid::now_v7();
    for (method, path) in &listed {
        let uri = path
            .replace("{id}", &id.to_string())
            .replace("{correlation_id}", &id.to_string())
            .replace("{tenant}", "acme");
        let method: Method = method.to_uppercase().parse().unwrap();
        let body = (method == Method::POST || method == Method::PUT).then_some("{}");
        let reply = if uri.starts_with("/v1/streams/") {
            // Streams answer 200 and stay open: check the head only.
            match common::SseReader::open(&api, &uri, None).await {
                Ok(_) => continue,
                Err(reply) => reply,
            }
        } else {
            api.call(method.clone(), &uri, body).await
        };
        assert_ne!(reply.code(), "no_route", "{method} {uri}");
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
    }
    assert!(document["components"]["schemas"]["NewEventBody"].is_object());
}

/// Every status a route answers is documented for it: each operation is
/// called plainly, with a malformed id, an unknown parameter, a foreign
/// Origin, a rebinding Host, a non-JSON and an oversized body, and
/// without a key once keys exist; whatever comes back must be in its
/// `responses`.
#[tokio::test]
async fn every_status_a_route_answers_is_documented() {
    let store = Arc::new(MemoryDag::<RawJson>::new());
    let config = eventdag_server::ServerConfig {
        max_body_bytes: 64,
        admin_key: Some(eventdag_server::AdminKey::parse(&"a".repeat(32)).unwrap()),
        ..test_config()
    };
    let keyless = Api::new(Arc::clone(&store), config.clone());
    let document = keyless.get("/openapi.json").await.json;
    let root = keyless
        .call(Method::POST, "/v1/events", Some(r#"{"payload": 1}"#))
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut answered: BTreeSet<(String, String, u16)> = BTreeSet::new();
    let request = |method: &Method, uri: &str, headers: &[(&str, &str)], body: Option<&str>| {
        let mut builder = axum::http::Request::builder()
            .method(method.clone())
            .uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder
            .body(body.map_or_else(axum::body::Body::empty, |b| {
                axum::body::Body::from(b.to_owned())
            }))
            .unwrap()
    };
    let json = [("content-type", "application/json")];
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.clone(), path.clone()));
        }
    }
    for (method_name, path) in &operations {
        if path.starts_with("/v1/streams/") {
            continue; // Streams stay open; their refusals are the same layers'.
        }
        let method: Method = method_name.to_uppercase().parse().unwrap();
        let uri = path
            .replace("{id}", &root)
            .replace("{correlation_id}", &root)
            .replace("{tenant}", "acme");
        let malformed = path
            .replace("{id}", "nope")
            .replace("{correlation_id}", "nope")
            .replace("{tenant}", "nope");
        let unknown_id = uuid::Uuid::now_v7().to_string();
        let unknown = path
            .replace("{id}", &unknown_id)
            .replace("{correlation_id}", &unknown_id)
            .replace("{tenant}", &unknown_id);
        let post = method == Method::POST || method == Method::PUT;
        let body = post.then_some(r#"{"payload": 1}"#);
        let mut calls = vec![
            request(&method, &uri, &json, body),
            request(&method, &malformed, &json, body),
            request(&method, &unknown, &json, body),
            request(&method, &format!("{uri}?bogus=1"), &json, body),
            request(
                &method,
                &uri,
                &[("origin", "http://evil.example"), json[0]],
                body,
            ),
            request(&method, &uri, &[("host", "evil.example"), json[0]], body),
        ];
        if post {
            calls.push(request(
                &method,
                &uri,
                &[("content-type", "text/plain")],
                body,
            ));
            calls.push(request(
                &method,
                &uri,
                &json,
                Some(&format!(r#"{{"payload": "{}"}}"#, "x".repeat(100))),
            ));
        }
        for call in calls {
            let reply = keyless.send(call).await;
            answered.insert((method_name.clone(), path.clone(), reply.status.as_u16()));
        }
    }
    let keyed_store = Arc::new(MemoryDag::<RawJson>::new());
    eventdag_server::create_tenant(keyed_store.as_ref(), "acme")
        .await
        .unwrap();
    let keyed = Api::new(keyed_store, config);
    for (method_name, path) in &operations {
        let method: Method = method_name.to_uppercase().parse().unwrap();
        let uri = path
            .replace("{id}", &root)
            .replace("{correlation_id}", &root)
            .replace("{tenant}", "acme");
        if path.starts_with("/v1/streams/") {
            let reply = keyed.send(request(&method, &uri, &[], None)).await;
            answered.insert((method_name.clone(), path.clone(), reply.status.as_u16()));
            continue;
        }
        let body = (method == Method::POST || method == Method::PUT).then_some(r#"{"payload": 1}"#);
        let reply = keyed.send(request(&method, &uri, &json, body)).await;
        answered.insert((method_name.clone(), path.clone(), reply.status.as_u16()));
    }
    let mut undocumented = Vec::new();
    for (method, path, status) in &answered {
        let responses = &document["paths"][path][method]["responses"];
        if responses.get(status.to_string()).is_none() {
            undocumented.push(format!("{method} {path} -> {status}"));
        }
    }
    assert!(
        undocumented.is_empty(),
        "undocumented statuses: {undocumented:#?}"
    );
    let statuses: BTreeSet<u16> = answered.iter().map(|(_, _, status)| *status).collect();
    for expected in [200, 201, 400, 401, 403, 404, 413, 415] {
        assert!(
            statuses.contains(&expected),
            "{expected} was never provoked: {statuses:?}"
        );
    }
    assert_eq!(
        document["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let id_parameter = &document["paths"]["/v1/events/{id}"]["get"]["parameters"][0];
    assert_eq!(id_parameter["schema"]["format"], "uuid");
}

/// The document is valid OpenAPI, as a third-party validator reads it
/// (`openapi-spec-validator`, installed by `scripts/test.sh`).
#[tokio::test]
async fn the_document_passes_openapi_spec_validator() {
    let api = Api::new(Arc::new(MemoryDag::<RawJson>::new()), test_config());
    let document = api.get("/openapi.json").await.text;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), document).unwrap();
    let checked = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("python3 is needed (run `bash scripts/test.sh`, which installs the validator)");
    assert!(
        checked.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
