//! The server cases on the embedded LMDB store, in a fresh temporary
//! directory per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use eventdag::RawJson;
use eventdag_lmdb::LmdbDag;

use tempfile::TempDir;

async fn lmdb_store() -> (Arc<LmdbDag<RawJson>>, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = LmdbDag::open(dir.path()).unwrap();
    (Arc::new(store), dir)
}

server_suite!(lmdb_store);
