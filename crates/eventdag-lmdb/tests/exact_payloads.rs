//! `LmdbDag` keeps payloads exactly as sent (the shared exact-payload
//! property test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventdag::RawJson;
use eventdag_lmdb::{LmdbDag, LmdbOptions};
use tempfile::TempDir;

async fn fresh() -> (LmdbDag<RawJson>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = LmdbOptions::default()
        .map_size(8 << 20)
        .open(dir.path())
        .expect("open store");
    (store, dir)
}

eventdag_testkit::exact_payload_suite!(fresh);
