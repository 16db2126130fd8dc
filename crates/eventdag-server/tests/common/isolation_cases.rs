//! Tenant isolation: 3 tenants × every route × the other tenants' ids.
//! Counts the requests that reached a foreign event; must be 0.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use eventdag_server::ServerStore;
use serde_json::{json, Value};

use super::{id_of, tenant_api, test_config, Api, SseReader};

struct Graph {
    api: Api,
    root: String,
    child: String,
    kind: u16,
}

async fn build(api: Api) -> Graph {
    let root = api.append(json!({"payload": "root", "kind": 0x8001})).await;
    let child = api
        .append(json!({"payload": "child", "parents": [id_of(&root)], "kind": 0x8001, "flags": ["REQUIRES_ACK"]}))
        .await;
    let signal = api
        .post(
            &format!("/v1/events/{}/signals", id_of(&child)),
            &json!({"type": "error_propagation", "source_event_id": id_of(&child), "error_code": 1, "message": "m"}),
        )
        .await;
    assert_eq!(signal.status, StatusCode::CREATED);
    Graph {
        api,
        root: id_of(&root),
        child: id_of(&child),
        kind: 0x8001,
    }
}

fn mentions(value: &Value, foreign: &[String]) -> bool {
    let text = value.to_string();
    foreign.iter().any(|id| text.contains(id.as_str()))
}

/// Every route tried by `me` against `foreign_ids` of one other tenant;
/// returns (attempts, successes).
async fn attack(me: &Graph, other: &Graph) -> (usize, Vec<String>) {
    let api = &me.api;
    let foreign = [other.root.clone(), other.child.clone()];
    let mut attempts = 0;
    let mut leaks = Vec::new();
    let mut check = |what: String, leaked: bool| {
        attempts += 1;
        if leaked {
            leaks.push(what);
        }
    };
    for f in &foreign {
        let singles: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/v1/events/{f}"), None),
            (Method::GET, format!("/v1/events/{f}/ancestors"), None),
            (
                Method::GET,
                format!("/v1/events/{f}/ancestors?limit=0"),
                None,
            ),
            (Method::GET, format!("/v1/events/{f}/descendants"), None),
            (
                Method::GET,
                format!("/v1/events/{f}/descendants?limit=0"),
                None,
            ),
            (Method::GET, format!("/v1/events/{f}/verify"), None),
            (Method::GET, format!("/v1/events/{f}/signals"), None),
            (Method::POST, format!("/v1/events/{f}/ack"), None),
            (
                Method::POST,
                format!("/v1/events/{f}/ack?upstream=true"),
                None,
            ),
            (
                Method::POST,
                format!("/v1/events/{f}/signals"),
                Some(json!({"type": "backpressure", "until": u64::MAX})),
            ),
            (
                Method::POST,
                format!("/v1/events/{f}/signals"),
                Some(json!({"type": "cancel", "correlation_id": other.root, "reason": "x"})),
            ),
            (
                Method::POST,
                format!("/v1/events/{}/signals", me.child),
                Some(json!({"type": "compensation_complete", "event_id": f})),
            ),
            (
                Method::POST,
                format!("/v1/events/{}/signals", me.child),
                Some(json!({"type": "ack", "event_id": f})),
            ),
            (
                Method::POST,
                format!("/v1/events/{}/signals", me.child),
                Some(
                    json!({"type": "error_propagation", "source_event_id": f, "error_code": 1, "message": "x"}),
                ),
            ),
            (
                Method::POST,
                format!("/v1/events/{f}/redact"),
                Some(json!({"reason": "not yours"})),
            ),
            (Method::GET, format!("/v1/next-position?parent={f}"), None),
            (
                Method::GET,
                format!("/v1/next-position?parent={f}&lane=0"),
                None,
            ),
            (
                Method::POST,
                "/v1/events".into(),
                Some(json!({"payload": 1, "parents": [f]})),
            ),
            (
                Method::POST,
                "/v1/events".into(),
                Some(json!({"payload": 1, "parents": [me.root, f]})),
            ),
            (
                Method::POST,
                "/v1/events".into(),
                Some(json!({"payload": "child", "id": f})),
            ),
            (
                Method::POST,
                "/v1/events".into(),
                Some(
                    json!({"payload": 1, "parents": [f], "position": {"depth": 1, "lane": 0, "sequence": 0}}),
                ),
            ),
            (
                Method::POST,
                "/v1/events:batch".into(),
                Some(json!([{"payload": 1, "parents": [f]}])),
            ),
            (
                Method::POST,
                "/v1/events:batch".into(),
                Some(
                    json!([{"payload": "child", "parents": [other.root], "id": f, "kind": other.kind, "flags": ["REQUIRES_ACK"]}]),
                ),
            ),
            (
                Method::GET,
                format!("/v1/streams/signals?event_id={f}"),
                None,
            ),
        ];
        for (method, uri, body) in singles {
            let body = body.map(|b| b.to_string());
            if uri.contains("/streams/") {
                let opened = SseReader::open(api, &format!("{uri}&after=0"), None).await;
                check(format!("{method} {uri}"), opened.is_ok());
                continue;
            }
            let reply = api.call(method.clone(), &uri, body.as_deref()).await;
            let leaked = reply.status.is_success()
                || (reply.status != StatusCode::NOT_FOUND && mentions(&reply.json, &foreign))
                || reply.text.contains("tenant");
            check(
                format!("{method} {uri} -> {} {}", reply.status, reply.text),
                leaked,
            );
        }
    }
    // Removing another tenant's chain finds nothing to remove.
    let removal = api
        .call(
            Method::DELETE,
            &format!("/v1/correlations/{}?older_than={}", other.root, i64::MAX),
            None,
        )
        .await;
    check(
        format!("DELETE /v1/correlations/{} -> {}", other.root, removal.text),
        removal.json != json!({"outcome": "kept", "reason": "empty"}),
    );
    // List routes answer 200 but must not contain foreign events.
    let lists = vec![
        format!("/v1/correlations/{}/events", other.root),
        format!("/v1/events?kind={}", other.kind),
        "/v1/unacknowledged".to_owned(),
        "/v1/queue/pending".to_owned(),
        "/v1/chains".to_owned(),
        format!("/v1/chains?kind={}", other.kind),
        format!("/v1/events/{}/ancestors", me.child),
        format!("/v1/events/{}/signals", me.child),
    ];
    for uri in lists {
        let reply = api.get(&uri).await;
        check(
            format!("GET {uri} -> {}", reply.text),
            reply.status.is_success() && mentions(&reply.json, &foreign),
        );
    }
    for uri in [
        "/v1/streams/events?after=0".to_owned(),
        format!("/v1/streams/events?after=0&correlation_id={}", other.root),
        "/v1/streams/signals?after=0".to_owned(),
        format!("/v1/streams/signals?after=0&correlation_id={}", other.root),
    ] {
        let mut reader = SseReader::open(api, &uri, None).await.ok().unwrap();
        let seen = reader.drain(Duration::from_millis(150)).await;
        let leaked = seen.iter().any(|event| mentions(&event.data, &foreign));
        check(format!("GET {uri}"), leaked);
    }
    (attempts, leaks)
}

pub async fn foreign_ids_fail_on_every_route<S: ServerStore>(store: Arc<S>) {
    let anonymous = Api::new(Arc::clone(&store), test_config());
    let mut graphs = Vec::new();
    for name in ["t1", "t2", "t3"] {
        let (api, _) = tenant_api(store.as_ref(), &anonymous, name).await;
        graphs.push(build(api).await);
    }
    let mut attempts = 0;
    let mut leaks = Vec::new();
    for me in &graphs {
        for other in &graphs {
            if std::ptr::eq(me, other) {
                continue;
            }
            let (tried, leaked) = attack(me, other).await;
            attempts += tried;
            leaks.extend(leaked);
        }
    }
    assert!(attempts >= 6 * 50, "the matrix ran {attempts} attempts");
    assert_eq!(leaks.len(), 0, "successes against foreign ids: {leaks:#?}");
    // Nothing the others tried changed a tenant's own events.
    for graph in &graphs {
        let child = graph.api.get(&format!("/v1/events/{}", graph.child)).await;
        assert_eq!(child.json["acknowledged"], json!(false));
        assert!(child.json.get("redaction").is_none(), "not redacted");
        assert_ne!(child.json["payload"], Value::Null);
        assert_eq!(child.json["flags"], json!(["REQUIRES_ACK"]));
        let signals = graph
            .api
            .get(&format!("/v1/events/{}/signals", graph.root))
            .await;
        assert_eq!(
            signals.json.as_array().unwrap().len(),
            1,
            "{}",
            signals.text
        );
        let appended = graph
            .api
            .post(
                "/v1/events",
                &json!({"payload": "still open", "parents": [graph.child]}),
            )
            .await;
        assert_eq!(appended.status, StatusCode::CREATED, "{}", appended.text);
    }
}
