//! Payloads come back through HTTP exactly as they were sent (issue 13):
//! numbers in their digits, keys in their order, escapes as written.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use eventdag::{Event, RawJson};
use eventdag_server::ServerStore;

use super::{test_config, Api, Reply};

/// What a `Value` would have changed: a double one ULP away under f64
/// parsing of its neighbours, an integer beyond 64 bits, an exponent
/// beyond f64, trailing zeros, negative zero, key order, a duplicate key
/// and escapes as the client spelled them.
const EXACT: &str = r#"{"z":0.9813026452884325,"big":123456789012345678901234567890,"huge":1e400,"cents":1.50,"neg":-0,"k":1,"k":2,"s":"\u00e9\/"}"#;

fn events_of(reply: &Reply) -> Vec<Event<RawJson>> {
    assert!(reply.status.is_success(), "{}", reply.text);
    if reply.text.starts_with('[') {
        serde_json::from_str(&reply.text).unwrap()
    } else {
        vec![serde_json::from_str(&reply.text).unwrap()]
    }
}

fn payloads(reply: &Reply) -> Vec<String> {
    events_of(reply)
        .iter()
        .map(|event| event.payload.as_str().to_owned())
        .collect()
}

pub async fn payloads_come_back_exactly_as_sent<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    // Pretty-printed, and with a whole float outside the payload, which
    // takes the second decoding path: the payload stays exact on both.
    let pretty = EXACT.replace(',', ",\n  ").replace(':', " : ");
    let body = format!(r#"{{"kind": 5.0, "payload": {pretty}}}"#);
    let created = api.call(Method::POST, "/v1/events", Some(&body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(payloads(&created), vec![EXACT]);
    let root = events_of(&created)[0].id();

    let batch = format!(
        r#"[{{"payload": {EXACT}, "parents": ["{root}"]}}, {{"payload": [1.0, 2.50e-7, "x"]}}]"#
    );
    let batch = api
        .call(Method::POST, "/v1/events:batch", Some(&batch))
        .await;
    assert_eq!(payloads(&batch), vec![EXACT, r#"[1.0,2.50e-7,"x"]"#]);
    let child = events_of(&batch)[0].id();

    let read = api.get(&format!("/v1/events/{root}")).await;
    assert_eq!(payloads(&read), vec![EXACT]);
    let ancestors = api.get(&format!("/v1/events/{child}/ancestors")).await;
    assert_eq!(payloads(&ancestors), vec![EXACT, EXACT]);
    let chain = api.get(&format!("/v1/correlations/{root}/events")).await;
    assert_eq!(payloads(&chain), vec![EXACT, EXACT]);
    let verified = api.get(&format!("/v1/events/{child}/verify")).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    assert_eq!(verified.json["checked"], serde_json::json!(1));
    assert_eq!(verified.json["first_mismatch"], serde_json::json!(null));
}
