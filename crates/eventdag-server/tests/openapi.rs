//! The OpenAPI document lists every route, and every route it lists is
//! served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use eventdag::MemoryDag;
use serde_json::Value;

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
    ("get", "/v1/unacknowledged"),
    ("post", "/v1/events/{id}/signals"),
    ("get", "/v1/events/{id}/signals"),
    ("get", "/v1/events/{id}/verify"),
    ("get", "/v1/next-position"),
    ("get", "/v1/streams/events"),
    ("get", "/v1/streams/signals"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/"),
];

#[tokio::test]
async fn openapi_lists_every_route_and_every_listed_route_is_served() {
    let api = Api::new(Arc::new(MemoryDag::<Value>::new()), test_config());
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
            .replace("{correlation_id}", &id.to_string());
        let method: Method = method.to_uppercase().parse().unwrap();
        let body = (method == Method::POST).then_some("{}");
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
