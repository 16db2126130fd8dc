//! `MemoryDag` keeps payloads exactly as sent (the shared exact-payload
//! property test).

use eventdag::{MemoryDag, RawJson};

async fn fresh() -> (MemoryDag<RawJson>, ()) {
    (MemoryDag::new(), ())
}

eventdag_testkit::exact_payload_suite!(fresh);
