//! The five rows of the table, run in one order on one system.

use std::sync::Arc;

use super::measure::{self, Sample, Spread};
use super::peer::Peer;
use super::workload::{self, Workload, APPENDERS, BATCH, CHAIN, RECENT};

/// A row of the table: one kind of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Row {
    /// One durable append at a time.
    Sequential,
    /// `APPENDERS` tasks appending durably at once, into one tenant.
    Concurrent,
    /// `APPENDERS` tasks appending durably at once, each into its own
    /// tenant.
    ConcurrentTenants,
    /// `BATCH` events per commit.
    Batch,
    /// One event by its id (JetStream: its sequence).
    ReadById,
    /// The `RECENT` most recent events up to one of a chain.
    Recent,
}

impl Row {
    /// Every row, in table order.
    pub(super) const ALL: [Self; 6] = [
        Self::Sequential,
        Self::Concurrent,
        Self::ConcurrentTenants,
        Self::Batch,
        Self::ReadById,
        Self::Recent,
    ];

    /// The row's name in the table.
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Sequential => "sequential durable append",
            Self::Concurrent => "16 concurrent appenders",
            Self::ConcurrentTenants => "16 appenders, 16 tenants",
            Self::Batch => "batch of 1,000 per commit",
            Self::ReadById => "read by id",
            Self::Recent => "100 most recent before an event",
        }
    }
}

/// How one row went.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
    /// Figures.
    Measured(Sample),
    /// The first error, which ended the row.
    Failed(String),
}

/// One row of one system.
#[derive(Debug, Clone)]
pub(super) struct RowResult {
    /// Which row.
    pub(super) row: Row,
    /// Its figures or its error.
    pub(super) outcome: Outcome,
    /// HTTP 429 answers during the row (waited out and retried).
    pub(super) throttled: u64,
}

/// Writes the chain, then runs every row on `peer`. A row that fails is
/// reported as failed and the next one runs.
pub(super) async fn run_all<P: Peer>(peer: Arc<P>, workload: &Workload) -> Vec<RowResult> {
    let budget = workload.budget;
    // The chain first: it also opens the connections the rows then reuse.
    let chain = match peer.write_chain(CHAIN).await {
        Ok(keys) if keys.len() == CHAIN => Ok(keys),
        Ok(keys) => Err(format!("{} keys for a chain of {CHAIN}", keys.len())),
        Err(error) => Err(format!("{error:#}")),
    };
    let mut results = Vec::with_capacity(Row::ALL.len());
    for row in Row::ALL {
        let measured = match (row, &chain) {
            (Row::Sequential, _) => {
                measure::sequential(workload.sequential, 1, budget, |_| peer.append()).await
            }
            (Row::Concurrent, _) => {
                let spread = Spread::OneTenant;
                measure::concurrent_appends(&peer, APPENDERS, workload.per_appender, spread, budget)
                    .await
            }
            (Row::ConcurrentTenants, _) => {
                let spread = Spread::TenantEach;
                measure::concurrent_appends(&peer, APPENDERS, workload.per_appender, spread, budget)
                    .await
            }
            (Row::Batch, _) => {
                measure::sequential(workload.batches, BATCH, budget, |_| {
                    peer.append_batch(BATCH)
                })
                .await
            }
            // Positions are below CHAIN, the length checked above.
            (Row::ReadById, Ok(keys)) => {
                measure::sequential(workload.reads, 1, budget, |index| {
                    peer.read(&keys[workload::read_position(index)])
                })
                .await
            }
            (Row::Recent, Ok(keys)) => {
                measure::sequential(workload.recent, RECENT, budget, |index| {
                    peer.recent(&keys[workload::recent_position(index)], RECENT)
                })
                .await
            }
            (Row::ReadById | Row::Recent, Err(error)) => {
                Err(anyhow::anyhow!("writing the chain to read failed: {error}"))
            }
        };
        results.push(RowResult {
            row,
            outcome: match measured {
                Ok(sample) => Outcome::Measured(sample),
                Err(error) => Outcome::Failed(format!("{error:#}")),
            },
            throttled: peer.take_throttled(),
        });
    }
    results
}
