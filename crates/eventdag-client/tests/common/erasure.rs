//! Tenant erasure through the client, on any store behind the server.

use eventdag::{DagStore, EventDag, EventDagExt, Forgetting, NewEvent};
use eventdag_server::ServerStore;
use eventdag_testkit::support::{TENANT_B, TENANT_C};
use serde_json::json;

use super::tenanted::Tenanted;

/// Erasure through the client: the admin route removes the tenant and its
/// keys (the tenant's own client gets refused at once), nothing of the
/// other tenants; without the administrator key the client refuses before
/// sending, and a tenant key cannot reach the route.
pub async fn erase_tenant_over_http<S>(store: &Tenanted<S>)
where
    S: ServerStore,
{
    let gone = store
        .append_new(NewEvent::new(json!({"bye": 1})).tenant(TENANT_C))
        .await
        .into_result()
        .unwrap();
    let stays = store
        .append_new(NewEvent::new(json!({"here": 1})).tenant(TENANT_B))
        .await
        .into_result()
        .unwrap();
    let url = store.server.url();
    let keyless: eventdag_client::RemoteDag<serde_json::Value> =
        eventdag_client::RemoteDag::connect(&url, None).unwrap();
    let refused = keyless.erase_tenant(TENANT_C).await.err().unwrap();
    assert!(
        matches!(&refused, eventdag::ErrorEffect::InvalidInput { field, .. } if field == "admin_key"),
        "{refused:?}"
    );
    // A tenant key sent as if it were the admin key is refused (401).
    let tenant_key = eventdag_server::create_api_key(&*store.backing, TENANT_B)
        .await
        .unwrap()
        .api_key;
    let pretender: eventdag_client::RemoteDag<serde_json::Value> =
        eventdag_client::RemoteDag::builder(&url)
            .admin_key(tenant_key)
            .build()
            .unwrap();
    assert!(pretender.erase_tenant(TENANT_C).await.err().is_some());

    let erased = store.erase_tenant(TENANT_C).await.into_result().unwrap();
    assert_eq!(
        (erased.events, erased.api_keys, erased.registered),
        (1, 1, true)
    );
    let after = store.backing.read(gone.id()).await.err().unwrap();
    assert!(
        matches!(after, eventdag::ErrorEffect::NotFound { .. }),
        "{after:?}"
    );
    let locked_out = store
        .unacknowledged_for_tenant(TENANT_C, 10)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&locked_out, eventdag::ErrorEffect::InvalidInput { field, .. } if field == "api key"),
        "the erased tenant's key is refused: {locked_out:?}"
    );
    assert!(store
        .backing
        .list_tenants()
        .await
        .into_result()
        .unwrap()
        .iter()
        .all(|t| t.tenant_id != TENANT_C));
    assert_eq!(
        store.read(stays.id()).await.into_result().unwrap().id(),
        stays.id()
    );
    let again = store.erase_tenant(TENANT_C).await.into_result().unwrap();
    assert_eq!(
        (again.events, again.api_keys, again.registered),
        (0, 0, false)
    );
}
