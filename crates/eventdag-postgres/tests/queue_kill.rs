//! A consumer SIGKILLed mid-lease (SPEC §9): its leases were committed
//! before its claim answered, so they hold after the kill for every other
//! connection, and its events are redelivered once the server's clock
//! passes their deadline. See `eventdag_testkit::queue_kill`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eventdag_postgres::PgDag;
use eventdag_testkit::queue_kill;
use serde_json::Value;

const CHILD_URL: &str = "EVENTDAG_QUEUE_KILL_CHILD_URL";
const TEST: &str = "killed_consumer_leases_hold_then_redeliver";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_consumer_leases_hold_then_redeliver() {
    if let Ok(url) = std::env::var(CHILD_URL) {
        let store: PgDag<Value> = PgDag::connect(&url).await.expect("child connects");
        queue_kill::child(&store).await;
    }
    let (store, guard) = common::fresh().await;
    let queued = queue_kill::prepare(&store).await;
    let exe = std::env::current_exe().unwrap();
    let url = guard.url();
    let leases = tokio::task::spawn_blocking(move || {
        queue_kill::run_and_kill(&exe, TEST, (CHILD_URL, &url))
    })
    .await
    .unwrap();
    queue_kill::check_after_kill(&store, &queued, &leases).await;
    store.close().await;
    drop(guard);
}
