//! `TieredDag` keeps payloads exactly as sent (the shared exact-payload
//! property test), from PostgreSQL and from its cache alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use eventdag::RawJson;
use eventdag_tiered::TieredDag;

use common::{test_options, Database, Guard};

async fn fresh() -> (TieredDag<RawJson>, Guard) {
    let database = Database::create().await;
    let cache_dir = tempfile::Builder::new()
        .prefix("eventdag-tiered-")
        .tempdir()
        .unwrap();
    let store = TieredDag::open_with(cache_dir.path(), &database.url(), test_options())
        .await
        .expect("open the tiered store");
    assert!(store.wait_fresh(Duration::from_secs(10)).await);
    (
        store,
        Guard {
            cache_dir,
            database,
        },
    )
}

eventdag_testkit::exact_payload_suite!(fresh);
