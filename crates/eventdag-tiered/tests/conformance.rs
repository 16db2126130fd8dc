//! `TieredDag` against the shared conformance suite, each case on its own
//! scratch database and cache directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eventdag::EventId;
use eventdag_tiered::TieredDag;
use serde_json::Value;

use common::{fresh, Guard};

async fn fresh_store() -> (TieredDag<Value>, Guard) {
    fresh().await
}

/// Rewrites the payload in PostgreSQL, the source of truth, keeping the
/// hash. Verification (`stored_record`, `chain_records`) always reads
/// PostgreSQL, so the intact copy the cache may hold is never consulted.
async fn corrupt(store: &TieredDag<Value>, event_id: EventId) {
    let changed = sqlx::query(
        "UPDATE eventdag_events SET payload = '{\"tampered\": true}'::json WHERE event_id = $1",
    )
    .bind(event_id)
    .execute(store.postgres().pool())
    .await
    .expect("corrupt");
    assert_eq!(changed.rows_affected(), 1);
}

eventdag_testkit::conformance_suite!(fresh_store, corrupt);

/// The races on a larger pool: 8 consumers each hold a connection.
async fn race_store() -> (TieredDag<Value>, Guard) {
    common::fresh_with(
        common::test_options().postgres(eventdag_postgres::PgOptions::new().max_connections(10)),
    )
    .await
}

/// 2,000 events, not 10,000: every queue call of `TieredDag` is
/// `PgDag`'s (src/queue.rs delegates; only a leased acknowledgment also
/// sets the flag in this node's cache), and eventdag-postgres races the
/// same calls on 10,000 events. Doing it twice would add about a minute
/// to CI for no path not already raced.
const RACE_EVENTS: usize = 2_000;

eventdag_testkit::queue_suite!(fresh_store, race_store, RACE_EVENTS);

eventdag_testkit::forgetting_suite!(fresh_store, corrupt);
