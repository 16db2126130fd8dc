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

/// Erasure through the client (common::erasure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_tenant_over_http() {
    let (store, _dir) = fresh().await;
    common::erasure::erase_tenant_over_http(&store).await;
}
