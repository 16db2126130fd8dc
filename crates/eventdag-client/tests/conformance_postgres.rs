//! The conformance suite through `RemoteDag`, against a live server on
//! PostgreSQL (a scratch database and server per case, dropped after;
//! `EVENTDAG_TEST_DATABASE_URL`, default the local server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::sync::Arc;

use common::tenanted::Tenanted;
use eventdag::EventId;
use eventdag::RawJson;
use eventdag_postgres::test_support::ScratchDatabase;
use eventdag_postgres::{PgDag, PgOptions};

async fn fresh() -> (Tenanted<PgDag<RawJson>>, ScratchDatabase) {
    // Copied from the migrated template: no migration runs per test.
    let database = ScratchDatabase::migrated().await;
    let store = PgDag::connect_with(&database.url(), PgOptions::new().max_connections(4))
        .await
        .expect("connect to the scratch database");
    (Tenanted::serve(Arc::new(store)).await, database)
}

async fn corrupt(store: &Tenanted<PgDag<RawJson>>, event_id: EventId) {
    let changed = sqlx::query(
        "UPDATE eventdag_events SET payload = '{\"tampered\": true}'::json WHERE event_id = $1",
    )
    .bind(event_id)
    .execute(store.backing.pool())
    .await
    .expect("corrupt");
    assert_eq!(changed.rows_affected(), 1);
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
    let (store, _database) = fresh().await;
    common::erasure::erase_tenant_over_http(&store).await;
}
