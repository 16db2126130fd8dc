//! API keys and tenants.

use std::sync::Arc;

use axum::http::StatusCode;
use eventdag_server::{create_api_key, list_tenants, revoke_api_key, ApiKey, ServerStore};
use serde_json::json;

use super::{id_of, tenant_api, test_config, Api};

pub async fn no_keys_serves_the_default_tenant<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let event = api.append(json!({"payload": "open"})).await;
    assert_eq!(event["tenant_id"], json!(uuid::Uuid::nil()));
    let garbage = api.with_key("not-a-key");
    let refused = garbage.get(&format!("/v1/events/{}", id_of(&event))).await;
    assert_eq!(
        refused.status,
        StatusCode::UNAUTHORIZED,
        "a bad key is refused even then"
    );
    assert_eq!(refused.code(), "unauthorized");
}

pub async fn keys_are_required_once_one_exists<S: ServerStore>(store: Arc<S>) {
    let anonymous = Api::new(Arc::clone(&store), test_config());
    let (alice, alice_id) = tenant_api(store.as_ref(), &anonymous, "alice").await;
    let missing = anonymous.get("/v1/unacknowledged").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED, "{}", missing.text);
    assert!(missing.message().contains("Bearer"), "{}", missing.text);
    for bad in [
        "edk_zzzzzzzz_00000000000000000000000000000000",
        "Basic abc",
        "edk_short",
    ] {
        let reply = anonymous.with_key(bad).get("/v1/unacknowledged").await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{bad}: {}",
            reply.text
        );
    }
    let real = alice.key.clone().unwrap();
    let parsed = ApiKey::parse(&real).unwrap();
    let forged = format!("edk_{}_{}", parsed.prefix(), "A".repeat(32));
    let reply = anonymous.with_key(&forged).get("/v1/unacknowledged").await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "right prefix, wrong secret"
    );
    let event = alice.append(json!({"payload": "mine"})).await;
    assert_eq!(event["tenant_id"], json!(alice_id));
    let open = anonymous.get("/healthz").await;
    assert_eq!(open.status, StatusCode::OK, "health needs no key");
}

pub async fn new_keys_work_at_once_and_revoked_ones_stop<S: ServerStore>(store: Arc<S>) {
    // The default key cache (1 s) would be warm from the first request:
    // this test uses the zero TTL of `test_config` and checks both keys.
    let anonymous = Api::new(Arc::clone(&store), test_config());
    let (first, tenant_id) = tenant_api(store.as_ref(), &anonymous, "bob").await;
    assert_eq!(first.get("/v1/unacknowledged").await.status, StatusCode::OK);
    let second = create_api_key(store.as_ref(), tenant_id).await.unwrap();
    let second_api = anonymous.with_key(&second.api_key);
    assert_eq!(
        second_api.get("/v1/unacknowledged").await.status,
        StatusCode::OK,
        "a key created while the server runs works at once"
    );
    revoke_api_key(store.as_ref(), first.key.as_deref().unwrap())
        .await
        .unwrap();
    let revoked = first.get("/v1/unacknowledged").await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED, "{}", revoked.text);
    assert!(revoked.message().contains("revoked"));
    assert_eq!(
        second_api.get("/v1/unacknowledged").await.status,
        StatusCode::OK
    );
    assert!(revoke_api_key(store.as_ref(), "nosuchpx").await.is_err());
}

pub async fn keys_are_stored_hashed<S: ServerStore>(store: Arc<S>) {
    let created = eventdag_server::create_tenant(store.as_ref(), "carol")
        .await
        .unwrap();
    let records = store.list_api_keys().await.ok().unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    let key = ApiKey::parse(&created.api_key).unwrap();
    assert_eq!(record.prefix, key.prefix());
    assert_eq!(record.key_hash, key.hash());
    assert!(!format!("{record:?}").contains(&created.api_key[13..]));
    let listed = list_tenants(store.as_ref()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "carol");
    assert_eq!(listed[0].keys.len(), 1);
    assert!(!listed[0].keys[0].revoked);
    assert!(eventdag_server::create_tenant(store.as_ref(), "carol")
        .await
        .is_err());
    assert!(eventdag_server::create_tenant(store.as_ref(), "")
        .await
        .is_err());
    let json = serde_json::to_value(&created).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 3, "{json}");
}
