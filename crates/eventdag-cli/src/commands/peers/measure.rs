//! Timing operations: latencies per operation and throughput, one at a
//! time or from several appenders at once, within a time budget.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::peer::Peer;

/// What one row measured.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    /// Latency of each operation.
    pub(super) latencies: Vec<Duration>,
    /// Events each operation stored or returned (1,000 for a batch).
    pub(super) events_per_op: usize,
    /// Wall time of the whole row.
    pub(super) elapsed: Duration,
    /// Whether the budget ran out before the planned count.
    pub(super) capped: bool,
}

impl Sample {
    /// Operations done.
    pub(super) fn ops(&self) -> usize {
        self.latencies.len()
    }

    /// Operations per second over the row's wall time.
    pub(super) fn ops_per_second(&self) -> f64 {
        // Counts stay far below 2^52, where f64 is exact.
        #[allow(clippy::cast_precision_loss)]
        let ops = self.ops() as f64;
        ops / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Events stored or returned per second (1,000 per batch, 100 per
    /// read of the most recent).
    pub(super) fn events_per_second(&self) -> f64 {
        // As above: exact in f64.
        #[allow(clippy::cast_precision_loss)]
        let per_op = self.events_per_op as f64;
        self.ops_per_second() * per_op
    }

    /// Nearest-rank percentile `p` (0–100) of the latencies.
    pub(super) fn percentile(&self, p: f64) -> Duration {
        crate::commands::bench::nearest_rank(&self.latencies, p)
    }
}

/// Runs `op(0)`, `op(1)`, … one after another, `count` times or until
/// `budget` has passed, and times each.
pub(super) async fn sequential<F, Fut>(
    count: usize,
    events_per_op: usize,
    budget: Duration,
    mut op: F,
) -> anyhow::Result<Sample>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut latencies = Vec::with_capacity(count);
    let start = Instant::now();
    for index in 0..count {
        if start.elapsed() >= budget {
            break;
        }
        let began = Instant::now();
        op(index)
            .await
            .with_context(|| format!("operation {index}"))?;
        latencies.push(began.elapsed());
    }
    Ok(Sample {
        capped: latencies.len() < count,
        latencies,
        events_per_op,
        elapsed: start.elapsed(),
    })
}

/// How the appenders of a concurrent row share the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spread {
    /// All into one tenant ([`Peer::append`]).
    OneTenant,
    /// Each into a tenant of its own ([`Peer::append_as`]).
    TenantEach,
}

/// `appenders` tasks, each appending `per_appender` times (or until
/// `budget` has passed) through the same `peer`, all at once.
pub(super) async fn concurrent_appends<P: Peer>(
    peer: &Arc<P>,
    appenders: usize,
    per_appender: usize,
    spread: Spread,
    budget: Duration,
) -> anyhow::Result<Sample> {
    let start = Instant::now();
    let deadline = start + budget;
    let tasks: Vec<_> = (0..appenders)
        .map(|appender| {
            let peer = Arc::clone(peer);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_appender);
                for index in 0..per_appender {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let began = Instant::now();
                    let appended = match spread {
                        Spread::OneTenant => peer.append().await,
                        Spread::TenantEach => peer.append_as(appender).await,
                    };
                    appended.with_context(|| format!("append {index}"))?;
                    latencies.push(began.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(appenders * per_appender);
    for task in tasks {
        latencies.extend(task.await.context("an appender task panicked")??);
    }
    Ok(Sample {
        capped: latencies.len() < appenders * per_appender,
        latencies,
        events_per_op: 1,
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(micros: &[u64]) -> Sample {
        Sample {
            latencies: micros.iter().copied().map(Duration::from_micros).collect(),
            events_per_op: 1,
            elapsed: Duration::from_secs(1),
            capped: false,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let row = sample(&(1..=100).rev().collect::<Vec<_>>());
        assert_eq!(row.percentile(50.0), Duration::from_micros(50));
        assert_eq!(row.percentile(99.0), Duration::from_micros(99));
        assert_eq!(sample(&[]).percentile(50.0), Duration::ZERO);
    }

    #[tokio::test]
    async fn the_budget_stops_a_row_and_marks_it() {
        let row = sequential(1_000_000, 1, Duration::from_millis(20), |_| async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(())
        })
        .await
        .unwrap();
        assert!(
            row.capped && row.ops() > 0 && row.ops() < 1000,
            "{}",
            row.ops()
        );
        let full = sequential(5, 1000, Duration::from_secs(5), |_| async { Ok(()) })
            .await
            .unwrap();
        assert!(!full.capped);
        assert_eq!(full.ops(), 5);
    }
}
