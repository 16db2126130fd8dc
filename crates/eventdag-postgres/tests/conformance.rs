//! `PgDag` against the shared conformance suite, each case on its own
//! scratch database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eventdag::EventId;
use eventdag_postgres::PgDag;
use serde_json::Value;

use common::{fresh, Guard};

async fn fresh_store() -> (PgDag<Value>, Guard) {
    fresh().await
}

/// Rewrites the stored payload behind the store's back, keeping the hash.
async fn corrupt(store: &PgDag<Value>, event_id: EventId) {
    let changed = sqlx::query(
        "UPDATE eventdag_events SET payload = '{\"tampered\": true}'::json WHERE event_id = $1",
    )
    .bind(event_id)
    .execute(store.pool())
    .await
    .expect("corrupt");
    assert_eq!(changed.rows_affected(), 1);
}

eventdag_testkit::conformance_suite!(fresh_store, corrupt);

/// The races on a larger pool: 8 consumers each hold a connection.
async fn race_store() -> (PgDag<Value>, Guard) {
    common::fresh_with(eventdag_postgres::PgOptions::new().max_connections(10)).await
}

eventdag_testkit::queue_suite!(
    fresh_store,
    race_store,
    eventdag_testkit::cases::queue::RACE_EVENTS
);

eventdag_testkit::forgetting_suite!(fresh_store, corrupt);
