//! Stores on scratch databases for the integration tests (see
//! `eventdag_postgres::test_support`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub(crate) use eventdag_postgres::test_support::ScratchDatabase as Guard;
use eventdag_postgres::{PgDag, PgOptions};
use serde_json::Value;

/// A new empty database (no schema yet) and its guard.
pub(crate) async fn scratch_database() -> Guard {
    Guard::create().await
}

/// A fresh store on a fresh database (copied from the migrated
/// template), with `options`.
pub(crate) async fn fresh_with(options: PgOptions) -> (PgDag<Value>, Guard) {
    let guard = Guard::migrated().await;
    let store = PgDag::connect_with(&guard.url(), options)
        .await
        .expect("connect to the scratch database");
    (store, guard)
}

/// A fresh store with a small pool, as the conformance suite uses.
pub(crate) async fn fresh() -> (PgDag<Value>, Guard) {
    fresh_with(PgOptions::new().max_connections(4)).await
}
