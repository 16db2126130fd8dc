//! The conformance suite through `RemoteDag`, against a live server on
//! the embedded LMDB store (a fresh directory and server per case).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::sync::Arc;

use common::tenanted::Tenanted;
use eventdag::EventId;
use eventdag::RawJson;
use eventdag_lmdb::{LmdbDag, LmdbOptions};
use tempfile::TempDir;

async fn fresh() -> (Tenanted<LmdbDag<RawJson>>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LmdbOptions::default()
        .map_size(8 << 20)
        .open(dir.path())
        .expect("open store");
    (Tenanted::serve(Arc::new(store)).await, dir)
}

async fn corrupt(store: &Tenanted<LmdbDag<RawJson>>, event_id: EventId) {
    assert!(
        store
            .backing
            .simulate_corruption(event_id, b"{\"tampered\":true}".to_vec())
            .await
    );
}

remote_suite!(fresh, corrupt);

// The work-queue cases through the client. The competing-consumers race
// runs on common::REMOTE_RACE_EVENTS events (the store's own race, in its
// crate, runs the full count).
eventdag_testkit::queue_suite!(fresh, fresh, common::REMOTE_RACE_EVENTS);

// The forgetting cases through the client (common::suite lists what is
// not run and why).
remote_forgetting_suite!(fresh, corrupt);

/// Erasure through the client: the admin route removes the tenant and its
/// keys (the tenant's own client gets refused at once), nothing of the
/// other tenants; without the administrator key the client refuses before
/// sending, and a tenant key cannot reach the route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_tenant_over_http() {
    use eventdag::{DagStore, EventDag, EventDagExt, Forgetting, NewEvent, TenantStore};
    use eventdag_testkit::support::{TENANT_B, TENANT_C};
    use serde_json::json;

    let (store, _dir) = fresh().await;
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
    let tenant_key = eventdag_server::create_api_key(store.backing.as_ref(), TENANT_B)
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
