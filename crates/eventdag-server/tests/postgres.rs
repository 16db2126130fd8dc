//! The server cases on PostgreSQL, each on a scratch database dropped
//! after the test (`EVENTDAG_TEST_DATABASE_URL`, default the local server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use eventdag::RawJson;
use eventdag_postgres::test_support::ScratchDatabase;
use eventdag_postgres::{PgDag, PgOptions};

async fn postgres_store() -> (Arc<PgDag<RawJson>>, ScratchDatabase) {
    // Copied from the migrated template: no migration runs per test.
    let database = ScratchDatabase::migrated().await;
    let options = PgOptions::new().max_connections(4);
    let store = PgDag::connect_with(&database.url(), options).await.unwrap();
    (Arc::new(store), database)
}

server_suite!(postgres_store);
