//! [`Freshness`]: whether cached flags may be served now.
//!
//! The follower (`listener.rs`) reads PostgreSQL's durable change log.
//! When it reports a tick `s` to [`Freshness::heard`], every change
//! committed before `s` is in the cache. So if the last tick heard is `s`
//! and a read happens at `r` with `r - s <= bound`, every change committed
//! before `r - bound` is in the cache: cached flags lag commits by at
//! most `bound`, whether or not any notification was sent.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// The follower has not read the log yet.
const CONNECTING: u8 = 0;
/// The follower's last read of the log succeeded.
const CONNECTED: u8 = 1;
/// The follower's last read failed: PostgreSQL is unreachable from here.
const DOWN: u8 = 2;

/// How a read may use the cache right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Valid entries are served from the cache.
    Fresh,
    /// Reads go to PostgreSQL; the cache only if PostgreSQL fails.
    Stale,
    /// PostgreSQL is unreachable: cached entries are served as they are.
    Degraded,
}

/// Shared by the follower and the reads.
#[derive(Debug)]
pub(crate) struct Freshness {
    base: Instant,
    bound: Duration,
    /// The latest tick (ns since `base`, +1 so that 0 means none) before
    /// which every committed change is in the cache, since the last
    /// failed read.
    heard: AtomicU64,
    state: AtomicU8,
}

impl Freshness {
    pub(crate) fn new(bound: Duration) -> Self {
        Self {
            base: Instant::now(),
            bound,
            heard: AtomicU64::new(0),
            state: AtomicU8::new(CONNECTING),
        }
    }

    /// Now, as a tick.
    pub(crate) fn now_tick(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// Every change committed before `tick` is in the cache.
    pub(crate) fn heard(&self, tick: u64) {
        self.heard.fetch_max(tick, Ordering::SeqCst);
    }

    /// A read of the log succeeded.
    pub(crate) fn connected(&self) {
        self.state.store(CONNECTED, Ordering::SeqCst);
    }

    /// A read of the log failed.
    pub(crate) fn down(&self) {
        self.heard.store(0, Ordering::SeqCst);
        self.state.store(DOWN, Ordering::SeqCst);
    }

    /// How reads may use the cache now.
    pub(crate) fn mode(&self) -> Mode {
        let heard = self.heard.load(Ordering::SeqCst);
        let bound = u64::try_from(self.bound.as_nanos()).unwrap_or(u64::MAX);
        if heard != 0 && self.now_tick().saturating_sub(heard) <= bound {
            return Mode::Fresh;
        }
        if self.state.load(Ordering::SeqCst) == DOWN {
            Mode::Degraded
        } else {
            Mode::Stale
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_only_within_the_bound_of_a_proven_tick() {
        let fresh = Freshness::new(Duration::from_millis(50));
        assert_eq!(fresh.mode(), Mode::Stale);
        fresh.connected();
        fresh.heard(fresh.now_tick());
        assert_eq!(fresh.mode(), Mode::Fresh);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(fresh.mode(), Mode::Stale);
        fresh.heard(fresh.now_tick());
        fresh.down();
        assert_eq!(fresh.mode(), Mode::Degraded);
    }
}
