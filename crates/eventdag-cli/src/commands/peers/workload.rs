//! The one workload every system runs: operation counts, the payload and
//! the time budget of a row.

use std::time::Duration;

use serde_json::{json, Value};

use crate::args::Scale;

/// Appenders in the concurrent row, for every system.
pub(super) const APPENDERS: usize = 16;
/// Events per commit in the batch row.
pub(super) const BATCH: usize = 1000;
/// Events a "most recent before this one" read returns, the start included.
pub(super) const RECENT: usize = 100;
/// Length of the chain that reads run over. Fixed (not scaled) so that
/// every read finds `RECENT` events behind its start at any scale.
pub(super) const CHAIN: usize = 1000;
/// Bytes of the payload as JSON text.
pub(super) const PAYLOAD_BYTES: usize = 256;

/// Operation counts and the time budget of one run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Workload {
    /// Sequential durable appends.
    pub(super) sequential: usize,
    /// Appends per appender in the concurrent row.
    pub(super) per_appender: usize,
    /// Commits of `BATCH` events.
    pub(super) batches: usize,
    /// Reads by id.
    pub(super) reads: usize,
    /// Reads of the `RECENT` events up to one of the chain.
    pub(super) recent: usize,
    /// A row stops starting operations after this long, so that one slow
    /// peer (or a rate limit) cannot stretch the run; the ops it did are
    /// reported and the row is marked.
    pub(super) budget: Duration,
}

impl Workload {
    /// The counts at `scale` (1: 1,000 appends; 16 × 100 concurrent;
    /// 20 batches; 20,000 reads; 2,000 reads of 100 — about two minutes
    /// for all systems on the project machine).
    pub(super) fn new(scale: Scale) -> Self {
        Self {
            sequential: scale.ops(1000),
            per_appender: scale.ops(100),
            batches: scale.ops(20),
            reads: scale.ops(20_000),
            recent: scale.ops(2000),
            budget: Duration::from_secs_f64((5.0 * scale.factor()).clamp(1.0, 60.0)),
        }
    }
}

/// The payload every system stores: a JSON object of exactly
/// `PAYLOAD_BYTES` bytes when encoded.
pub(super) fn payload() -> Value {
    // `{"data":"` and `"}` are 11 bytes around the filler.
    json!({ "data": "x".repeat(PAYLOAD_BYTES - 11) })
}

/// The chain position the `index`-th read by id asks for: spread over the
/// whole chain (7,919 is prime, so the walk visits every position).
pub(super) fn read_position(index: usize) -> usize {
    index.wrapping_mul(7919) % CHAIN
}

/// The chain position the `index`-th "most recent" read starts from:
/// always with at least `RECENT - 1` events before it.
pub(super) fn recent_position(index: usize) -> usize {
    RECENT - 1 + index.wrapping_mul(7919) % (CHAIN - (RECENT - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_exactly_the_stated_size() {
        assert_eq!(serde_json::to_vec(&payload()).unwrap().len(), PAYLOAD_BYTES);
    }

    #[test]
    fn positions_stay_inside_the_chain_and_leave_room_behind() {
        for index in 0..5000 {
            assert!(read_position(index) < CHAIN);
            let start = recent_position(index);
            assert!(start < CHAIN && start + 1 >= RECENT, "{start}");
        }
        assert_eq!(recent_position(0), RECENT - 1);
    }
}
