//! The tenant and API-key registry.

use eventdag::{ApiKeyRecord, ErrorEffect, TenantRecord};
use uuid::Uuid;

use crate::support::{err, ok, Store, TENANT_B, TENANT_C};

fn tenant(tenant_id: Uuid, name: &str) -> TenantRecord {
    TenantRecord {
        tenant_id,
        name: name.into(),
        created_at: 1,
    }
}

fn key(prefix: &str, tenant_id: Uuid) -> ApiKeyRecord {
    ApiKeyRecord {
        prefix: prefix.into(),
        tenant_id,
        key_hash: [7; 32],
        created_at: 2,
        revoked: false,
    }
}

/// Tenants are created once, listed by name; a taken name conflicts.
pub async fn tenants_are_created_once_and_listed<S: Store>(store: &S) {
    ok(store.create_tenant(tenant(TENANT_C, "zeta")).await);
    ok(store.create_tenant(tenant(TENANT_B, "alpha")).await);
    assert!(matches!(
        err(store.create_tenant(tenant(Uuid::now_v7(), "alpha")).await),
        ErrorEffect::IdConflict { .. }
    ));
    let names: Vec<String> = ok(store.list_tenants().await)
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["alpha".to_string(), "zeta".to_string()]);
}

/// Keys are stored by prefix, found, revoked; a key needs its tenant.
pub async fn api_keys_are_stored_found_and_revoked<S: Store>(store: &S) {
    ok(store.create_tenant(tenant(TENANT_B, "beta")).await);
    assert!(matches!(
        err(store.put_api_key(key("orphan01", TENANT_C)).await),
        ErrorEffect::NotFound { .. }
    ));
    ok(store.put_api_key(key("edk_b001", TENANT_B)).await);
    assert!(matches!(
        err(store.put_api_key(key("edk_b001", TENANT_B)).await),
        ErrorEffect::IdConflict { .. }
    ));
    assert_eq!(
        ok(store.find_api_key("edk_b001").await),
        Some(key("edk_b001", TENANT_B))
    );
    assert_eq!(ok(store.find_api_key("edk_none").await), None);
    ok(store.revoke_api_key("edk_b001").await);
    ok(store.revoke_api_key("edk_b001").await);
    assert!(ok(store.find_api_key("edk_b001").await).unwrap().revoked);
    assert_eq!(ok(store.list_api_keys().await).len(), 1);
    assert!(matches!(
        err(store.revoke_api_key("edk_none").await),
        ErrorEffect::InvalidInput { .. }
    ));
}
