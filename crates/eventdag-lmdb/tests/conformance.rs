//! `LmdbDag` against the shared conformance suite, unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventdag::EventId;
use eventdag_lmdb::{LmdbDag, LmdbOptions, SyncMode};
use serde_json::Value;
use tempfile::TempDir;

async fn fresh() -> (LmdbDag<Value>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    // A small initial map keeps hundreds of test stores cheap; it grows by
    // itself when needed.
    let store = LmdbOptions::default()
        .map_size(8 << 20)
        .open(dir.path())
        .expect("open store");
    (store, dir)
}

async fn corrupt(store: &LmdbDag<Value>, event_id: EventId) {
    assert!(
        store
            .simulate_corruption(event_id, b"{\"tampered\":true}".to_vec())
            .await
    );
}

eventdag_testkit::conformance_suite!(fresh, corrupt);
/// The queue races test exclusivity, not durability (tests/queue_kill.rs
/// does, on the default durable setting): without an fsync per group
/// commit the 10,000-event race takes about a tenth of the time.
async fn fresh_nosync() -> (LmdbDag<Value>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LmdbOptions::default()
        .map_size(8 << 20)
        .sync_mode(SyncMode::NoSync)
        .open(dir.path())
        .expect("open store");
    (store, dir)
}

eventdag_testkit::queue_suite!(
    fresh,
    fresh_nosync,
    eventdag_testkit::cases::queue::RACE_EVENTS
);

eventdag_testkit::forgetting_suite!(fresh, corrupt);
