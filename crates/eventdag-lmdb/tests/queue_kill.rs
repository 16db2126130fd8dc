//! A consumer SIGKILLed mid-lease (SPEC §9): its leases survive the kill
//! (they were committed, durably, before the claim answered) and its
//! events are redelivered after the lease. See
//! `eventdag_testkit::queue_kill`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventdag_lmdb::LmdbDag;
use eventdag_testkit::queue_kill;
use serde_json::Value;

const CHILD_DIR: &str = "EVENTDAG_QUEUE_KILL_CHILD_DIR";
const TEST: &str = "killed_consumer_leases_hold_then_redeliver";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_consumer_leases_hold_then_redeliver() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        let store: LmdbDag<Value> = LmdbDag::open(&dir).expect("child opens the store");
        queue_kill::child(&store).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let queued = {
        let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
        queue_kill::prepare(&store).await
    };
    let exe = std::env::current_exe().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let leases = tokio::task::spawn_blocking(move || {
        queue_kill::run_and_kill(&exe, TEST, (CHILD_DIR, &path))
    })
    .await
    .unwrap();
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).expect("reopen after kill -9");
    queue_kill::check_after_kill(&store, &queued, &leases).await;
}
