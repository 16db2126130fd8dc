//! The server cases on `MemoryDag` (the same cases run on every store
//! through `server_suite!`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use eventdag::MemoryDag;
use eventdag::RawJson;

async fn memory_store() -> (Arc<MemoryDag<RawJson>>, ()) {
    (Arc::new(MemoryDag::new()), ())
}

server_suite!(memory_store);
