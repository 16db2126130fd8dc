//! Scratch PostgreSQL databases and cache directories for the integration
//! tests: each test gets its own database on the server named by
//! `EVENTDAG_TEST_DATABASE_URL` (dropped WITH (FORCE) with its guard) and
//! its own temporary cache directory.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::time::Duration;

use eventdag_postgres::PgOptions;
use eventdag_tiered::{TieredDag, TieredOptions};
use serde_json::Value;

pub(crate) use eventdag_postgres::test_support::ScratchDatabase as Database;

/// A scratch database and a temporary cache directory.
pub(crate) struct Guard {
    pub(crate) cache_dir: tempfile::TempDir,
    pub(crate) database: Database,
}

/// Options for tests: a small pool.
pub(crate) fn test_options() -> TieredOptions {
    TieredOptions::new().postgres(PgOptions::new().max_connections(4))
}

/// A fresh store on a fresh database and cache directory, fresh (cached
/// flags served) before it is returned.
pub(crate) async fn fresh_with(options: TieredOptions) -> (TieredDag<Value>, Guard) {
    let database = Database::migrated().await;
    let cache_dir = tempfile::Builder::new()
        .prefix("eventdag-tiered-")
        .tempdir()
        .unwrap();
    let store = TieredDag::open_with(cache_dir.path(), &database.url(), options)
        .await
        .expect("open the tiered store");
    assert!(
        store.wait_fresh(Duration::from_secs(10)).await,
        "the change log was never read"
    );
    (
        store,
        Guard {
            cache_dir,
            database,
        },
    )
}

/// A fresh store with the test options.
pub(crate) async fn fresh() -> (TieredDag<Value>, Guard) {
    fresh_with(test_options()).await
}
