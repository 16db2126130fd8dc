//! Bounded retries with exponential backoff and jitter, only for requests
//! that are safe to repeat.

use std::time::Duration;

/// How a call may be repeated after a transport failure or a 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Repeating it changes nothing the first attempt did not (reads, an
    /// append whose every event carries a client-chosen id, an
    /// acknowledgment): retried.
    Idempotent,
    /// A repeat could act twice (a signal): retried only when the request
    /// provably never left (connection refused).
    Once,
}

/// The retry settings of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: none).
    pub max_retries: u32,
    /// Wait before the first retry; doubles with each retry.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, waiting about 50 ms, 100 ms and 200 ms (capped at 2 s):
    /// a restarting server or a PostgreSQL failover of a second is ridden
    /// out, a dead one is reported within half a second of the last
    /// attempt.
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    #[must_use]
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (from 1): the doubled backoff,
    /// capped, with up to 50 % of it taken off at random so that many
    /// clients failing together do not come back together.
    #[must_use]
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let jitter = rand::random_range(0.5..=1.0);
        full.mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_downwards_only() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let second = policy.backoff(2);
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
            let capped = policy.backoff(9);
            assert!(capped >= Duration::from_millis(175) && capped <= Duration::from_millis(350));
        }
    }
}
