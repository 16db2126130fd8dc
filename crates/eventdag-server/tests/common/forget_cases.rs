//! Forgetting over HTTP (SPEC §10): redaction, retention, chain removal
//! and the administrator's tenant erasure.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use eventdag::{now_micros, EventDagExt, NewEvent, RawJson};
use eventdag_server::{AdminKey, ServerConfig, ServerStore};
use serde_json::{json, Value};

use super::{id_of, tenant_api, test_config, Api, SseReader};

const ADMIN: &str = "admin-0123456789abcdef0123456789abcdef";

fn with_admin() -> ServerConfig {
    ServerConfig {
        admin_key: Some(AdminKey::parse(ADMIN).unwrap()),
        // A long cache: erasure must still stop the keys at once.
        key_cache_ttl: Duration::from_secs(600),
        ..test_config()
    }
}

async fn redact(api: &Api, id: &str, reason: &str) -> super::Reply {
    api.post(
        &format!("/v1/events/{id}/redact"),
        &json!({ "reason": reason }),
    )
    .await
}

/// A redacted event is answered with its mark and a null payload on
/// every route, the verify route reports it, a retry of its append does
/// not echo the payload, and bad reasons are 400.
pub async fn redaction_marks_the_event_and_serves_no_payload<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let id = uuid::Uuid::now_v7().to_string();
    let body = json!({"payload": {"email": "ada@example.com"}, "id": id});
    let root = api.append(body.clone()).await;
    let child = api
        .append(json!({"payload": {"step": 2}, "parents": [id]}))
        .await;
    let reply = redact(&api, &id, "GDPR request 17").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let redacted = reply.json;
    assert_eq!(redacted["payload"], Value::Null);
    assert_eq!(redacted["redaction"]["reason"], "GDPR request 17");
    assert!(redacted["redaction"]["redacted_at"].as_u64().unwrap() > 0);
    assert_eq!(
        redacted["redaction"]["payload_hash"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(redacted["hash"], root["hash"], "the hash stays");
    assert_eq!(redacted["hash_version"], 2);
    assert!(root.get("redaction").is_none(), "no mark before");
    assert!(!reply.text.contains("ada@example.com"));

    let read = api.get(&format!("/v1/events/{id}")).await;
    assert_eq!(read.json, redacted);
    let chain = api.get(&format!("/v1/correlations/{id}/events")).await;
    assert_eq!(chain.json[0], redacted);
    assert_eq!(chain.json[1]["payload"], json!({"step": 2}));
    let ancestors = api
        .get(&format!("/v1/events/{}/ancestors", id_of(&child)))
        .await;
    assert_eq!(ancestors.json[1]["payload"], Value::Null);

    let verified = api.get(&format!("/v1/events/{id}/verify")).await;
    assert_eq!(verified.status, StatusCode::OK);
    assert_eq!(verified.json["first_mismatch"], Value::Null);
    assert_eq!(verified.json["redacted"], json!([id]));
    let below = api
        .get(&format!("/v1/events/{}/verify", id_of(&child)))
        .await;
    assert_eq!(below.json["first_mismatch"], Value::Null, "{}", below.text);

    // A producer's retry: idempotent, and the payload is not echoed.
    let again = api.post("/v1/events", &body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    assert_eq!(again.json["payload"], Value::Null, "{}", again.text);
    assert!(again.json["redaction"].is_object());
    assert!(!again.text.contains("ada@example.com"));
    let batch = api.post("/v1/events:batch", &json!([body])).await;
    assert_eq!(batch.json[0]["payload"], Value::Null, "{}", batch.text);

    // Redacting again keeps the first mark.
    let second = redact(&api, &id, "another reason").await;
    assert_eq!(second.json, redacted);

    let other = id_of(&child);
    for reason in ["", "   ", "tab\there", &"x".repeat(251)] {
        let refused = redact(&api, &other, reason).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{reason:?}");
        assert!(refused.message().contains("reason"), "{}", refused.text);
    }
    let accepted = redact(&api, &other, &"é".repeat(250)).await;
    assert_eq!(accepted.status, StatusCode::OK, "250 characters, 500 bytes");
    let unknown = redact(&api, &uuid::Uuid::now_v7().to_string(), "x").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let extra = api
        .post(
            &format!("/v1/events/{id}/redact"),
            &json!({"reason": "x", "more": 1}),
        )
        .await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
}

/// The event stream carries a redacted event with its mark and without
/// its payload.
pub async fn streams_serve_redacted_events_without_payload<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let event = api.append(json!({"payload": "secret"})).await;
    let id = id_of(&event);
    assert_eq!(redact(&api, &id, "erase").await.status, StatusCode::OK);
    let mut stream = SseReader::open(&api, "/v1/streams/events?after=0", None)
        .await
        .unwrap();
    let first = stream.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.data["id"], json!(id));
    assert_eq!(first.data["payload"], Value::Null);
    assert_eq!(first.data["redaction"]["reason"], "erase");
}

/// Another tenant's event cannot be redacted, its chain not removed, its
/// policy not seen.
pub async fn forgetting_is_tenant_isolated<S: ServerStore>(store: Arc<S>) {
    let anonymous = Api::new(Arc::clone(&store), test_config());
    let (alice, _) = tenant_api(store.as_ref(), &anonymous, "alice").await;
    let (bob, _) = tenant_api(store.as_ref(), &anonymous, "bob").await;
    let event = alice.append(json!({"payload": "alice's"})).await;
    let id = id_of(&event);
    let refused = redact(&bob, &id, "not yours").await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text);
    let removal = bob
        .call(
            Method::DELETE,
            &format!("/v1/correlations/{id}?older_than={}", i64::MAX),
            None,
        )
        .await;
    assert_eq!(removal.status, StatusCode::OK);
    assert_eq!(removal.json, json!({"outcome": "kept", "reason": "empty"}));
    let beyond = bob
        .call(
            Method::DELETE,
            &format!("/v1/correlations/{id}?older_than={}", u64::MAX),
            None,
        )
        .await;
    assert_eq!(
        beyond.status,
        StatusCode::BAD_REQUEST,
        "one limit on every store"
    );
    let policy = json!({"rules": [{"max_age_seconds": 60}]});
    let put = bob
        .call(Method::PUT, "/v1/retention", Some(&policy.to_string()))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(
        alice.get("/v1/retention").await.status,
        StatusCode::NOT_FOUND
    );
    let read = alice.get(&format!("/v1/events/{id}")).await;
    assert_eq!(read.json, event, "untouched");
}

/// A policy is set, read, run (dry, then for real: the old chain goes,
/// the young one stays) and removed; invalid policies are 400.
pub async fn retention_is_set_run_and_removed<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(Arc::clone(&store), test_config());
    let missing = api.get("/v1/retention").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
    assert!(missing.message().contains("no retention policy"));
    let no_policy_run = api.post("/v1/retention/run", &json!(null)).await;
    assert_eq!(no_policy_run.status, StatusCode::NOT_FOUND);

    for (bad, field) in [
        (json!({"rules": []}), "rules"),
        (
            json!({"rules": [{"max_age_seconds": 0}]}),
            "rules[0].max_age_seconds",
        ),
        (
            json!({"rules": [{"max_age_seconds": 5, "kind": 70000}]}),
            "rules[0].kind",
        ),
        (
            json!({"rules": [{"max_age_seconds": 5, "extra": 1}]}),
            "rules[0]",
        ),
    ] {
        let reply = api
            .call(Method::PUT, "/v1/retention", Some(&bad.to_string()))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.message().contains(field), "{bad}: {}", reply.text);
    }

    // An old chain (stamped 10 days ago, through the store) and a young one.
    let old = store
        .append_new(
            NewEvent::new(RawJson::from_text(r#"{"old":true}"#).unwrap())
                .timestamp(now_micros() - 10 * 86_400 * 1_000_000),
        )
        .await
        .into_result()
        .unwrap();
    let young = api.append(json!({"payload": "young"})).await;

    let policy =
        json!({"rules": [{"kind": 7, "max_age_seconds": 999_999_999}, {"max_age_seconds": 86400}]});
    let put = api
        .call(Method::PUT, "/v1/retention", Some(&policy.to_string()))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let mut served = policy.clone();
    served["rules"][1]["kind"] = Value::Null; // a missing kind reads as null
    assert_eq!(put.json["policy"], served);
    assert_eq!(put.json["tenant_id"], json!(uuid::Uuid::nil()));
    assert_eq!(api.get("/v1/retention").await.json, put.json);

    let dry = api.post("/v1/retention/run", &json!(null)).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert_eq!(dry.json["dry_run"], true, "a dry run unless asked");
    assert_eq!(dry.json["report"], Value::Null);
    let planned = dry.json["plan"]["remove"].as_array().unwrap();
    assert_eq!(planned.len(), 1, "{}", dry.text);
    assert_eq!(planned[0]["correlation_id"], json!(old.id()));
    let still = api.get(&format!("/v1/events/{}", old.id())).await;
    assert_eq!(still.status, StatusCode::OK, "the dry run removed nothing");

    let run = api
        .call(Method::POST, "/v1/retention/run?dry_run=false", None)
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text);
    assert_eq!(run.json["report"]["removed_chains"], 1);
    assert_eq!(run.json["report"]["removed_events"], 1);
    assert_eq!(run.json["archive"], Value::Null, "no archive configured");
    let gone = api.get(&format!("/v1/events/{}", old.id())).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let kept = api.get(&format!("/v1/events/{}", id_of(&young))).await;
    assert_eq!(kept.status, StatusCode::OK);
    let metrics = api.get("/metrics").await.text;
    assert!(
        metrics.contains(r#"eventdag_retention_runs_total{outcome="ok",trigger="request"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("eventdag_retention_removed_events_total 1"));

    let deleted = api.call(Method::DELETE, "/v1/retention", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get("/v1/retention").await.status, StatusCode::NOT_FOUND);
    let again = api.call(Method::DELETE, "/v1/retention", None).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "idempotent");
}

/// Tenant erasure is the administrator's: off without `admin_key` (403),
/// refused with a tenant key (401), and with the admin key it removes the
/// tenant, whose keys get 401 at once; other tenants are untouched.
pub async fn tenant_erasure_needs_the_admin_key<S: ServerStore>(store: Arc<S>) {
    let off = Api::new(Arc::clone(&store), test_config());
    let api = Api::new(Arc::clone(&store), with_admin());
    let (leaving, leaving_id) = tenant_api(store.as_ref(), &api, "leaving").await;
    let (staying, _) = tenant_api(store.as_ref(), &api, "staying").await;
    let event = leaving.append(json!({"payload": "bye"})).await;
    leaving
        .append(json!({"payload": "child", "parents": [id_of(&event)]}))
        .await;
    let kept = staying.append(json!({"payload": "here"})).await;
    // Warm the key cache for the leaving tenant's key.
    assert_eq!(
        leaving.get("/v1/unacknowledged").await.status,
        StatusCode::OK
    );

    let path = "/v1/admin/tenants/leaving";
    let disabled = off.with_key(ADMIN).call(Method::DELETE, path, None).await;
    assert_eq!(disabled.status, StatusCode::FORBIDDEN, "{}", disabled.text);
    assert!(disabled.message().contains("admin_key"));
    let bare = off.call(Method::DELETE, path, None).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED, "no key at all: 401");
    for caller in [&leaving, &staying, &api] {
        let refused = caller.call(Method::DELETE, path, None).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
    }
    let wrong = api
        .with_key("admin-0123456789abcdef0123456789abcdeX")
        .call(Method::DELETE, path, None)
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let admin = api.with_key(ADMIN);
    let unknown = admin
        .call(Method::DELETE, "/v1/admin/tenants/nobody", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let erased = admin.call(Method::DELETE, path, None).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text);
    assert_eq!(
        erased.json,
        json!({"tenant_id": leaving_id, "events": 2, "api_keys": 1, "registered": true})
    );
    let after = leaving.get("/v1/unacknowledged").await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{}", after.text);
    let read = staying.get(&format!("/v1/events/{}", id_of(&kept))).await;
    assert_eq!(read.json, kept);
    let again = admin
        .call(
            Method::DELETE,
            &format!("/v1/admin/tenants/{leaving_id}"),
            None,
        )
        .await;
    assert_eq!(
        again.json,
        json!({"tenant_id": leaving_id, "events": 0, "api_keys": 0, "registered": false})
    );
    // The server stays keyed: the default tenant is not served keyless.
    let anonymous = api.get("/v1/unacknowledged").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
