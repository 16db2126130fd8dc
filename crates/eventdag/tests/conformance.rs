//! `MemoryDag` against the conformance suite.

use eventdag::{EventId, MemoryDag};
use serde_json::Value;

async fn fresh() -> (MemoryDag<Value>, ()) {
    (MemoryDag::new(), ())
}

async fn corrupt(store: &MemoryDag<Value>, event_id: EventId) {
    assert!(store.simulate_corruption(event_id, b"{\"tampered\":true}".to_vec()));
}

eventdag_testkit::conformance_suite!(fresh, corrupt);
eventdag_testkit::queue_suite!(fresh, fresh, eventdag_testkit::cases::queue::RACE_EVENTS);
eventdag_testkit::forgetting_suite!(fresh, corrupt);
