//! `eventdag bench`: a fixed workload on the chosen store, printed as a
//! table of throughput and latency percentiles.
//!
//! Workload (scale 1): 500 single durable appends; 20 batches of 1,000
//! events with 256-byte payloads; 100,000 reads by id; 200 ancestors walks
//! of depth 1,000; 200 correlation chains of 1,000 events. `--scale`
//! multiplies every count (at least one of each).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use eventdag::EventDagExt;
use eventdag::RawJson;
use eventdag::{DagPosition, Event, EventFlags, EventHeader, EventId, EventKind, TenantId};
use serde_json::{json, Value};
use uuid::Uuid;

use super::CliStore;
use crate::args::BenchArgs;

/// One measured operation.
struct Row {
    name: &'static str,
    operations: usize,
    events_per_operation: usize,
    latencies: Vec<Duration>,
    total: Duration,
}

/// Nearest-rank percentile `p` (0–100) of `latencies`; zero for none.
pub(super) fn nearest_rank(latencies: &[Duration], p: f64) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    // The rank is within 0..=len by construction; `get` guards the rest.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1))
        .copied()
        .unwrap_or_default()
}

impl Row {
    fn percentile(&self, p: f64) -> Duration {
        nearest_rank(&self.latencies, p)
    }

    #[allow(clippy::cast_precision_loss)]
    fn events_per_second(&self) -> f64 {
        (self.operations * self.events_per_operation) as f64 / self.total.as_secs_f64().max(1e-9)
    }
}

fn event(
    tenant: TenantId,
    parents: Vec<EventId>,
    position: DagPosition,
    payload: Value,
) -> Event<RawJson> {
    let header = EventHeader::new(
        Uuid::now_v7(),
        Uuid::nil(),
        0,
        position,
        0,
        EventKind::DATA,
        EventFlags::empty(),
    );
    Event::new(header, RawJson::from_value(&payload))
        .with_tenant(tenant)
        .with_parents(parents)
}

async fn measure<F, Fut>(
    name: &'static str,
    operations: usize,
    events_per_operation: usize,
    mut op: F,
) -> anyhow::Result<Row>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut latencies = Vec::with_capacity(operations);
    let start = Instant::now();
    for index in 0..operations {
        let began = Instant::now();
        op(index)
            .await
            .with_context(|| format!("{name}, operation {index}"))?;
        latencies.push(began.elapsed());
    }
    Ok(Row {
        name,
        operations,
        events_per_operation,
        latencies,
        total: start.elapsed(),
    })
}

/// Runs the workload in a fresh tenant of `store` and prints the table.
pub(crate) async fn run_bench<S: CliStore>(
    store: &S,
    args: BenchArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let scale = args.scale;
    let (singles, batches, reads) = (scale.ops(500), scale.ops(20), scale.ops(100_000));
    let (walks, chains) = (scale.ops(200), scale.ops(200));
    let tenant = Uuid::now_v7();
    let payload = json!({ "data": "x".repeat(244) });
    let mut rows = Vec::new();

    let single_lane = 1u32;
    rows.push(
        measure("append single durable", singles, 1, |index| {
            let sequence = u32::try_from(index).unwrap_or(u32::MAX);
            let new = event(
                tenant,
                vec![],
                DagPosition::new(0, single_lane, sequence),
                payload.clone(),
            );
            async move {
                store
                    .append(new)
                    .await
                    .into_result()
                    .map(|_| ())
                    .map_err(Into::into)
            }
        })
        .await?,
    );

    let batch_lane = 2u32;
    rows.push(
        measure("append batch (1,000/commit)", batches, 1000, |index| {
            let base = u32::try_from(index * 1000).unwrap_or(u32::MAX);
            let batch: Vec<_> = (0..1000u32)
                .map(|i| {
                    event(
                        tenant,
                        vec![],
                        DagPosition::new(0, batch_lane, base + i),
                        payload.clone(),
                    )
                })
                .collect();
            async move {
                store
                    .append_batch(batch)
                    .await
                    .into_result()
                    .map(|_| ())
                    .map_err(Into::into)
            }
        })
        .await?,
    );

    // A line of 1,000 events for reads, walks and the chain.
    let mut line = Vec::with_capacity(1000);
    for depth in 0..1000u32 {
        let parents = line
            .last()
            .map(|e: &Event<RawJson>| vec![e.id()])
            .unwrap_or_default();
        line.push(event(
            tenant,
            parents,
            DagPosition::new(depth, 0, depth),
            payload.clone(),
        ));
    }
    let ids: Vec<EventId> = line.iter().map(Event::id).collect();
    store.append_batch(line).await.into_result()?;
    let tip = ids[ids.len() - 1];
    let root = ids[0];

    rows.push(
        measure("read by id", reads, 1, |index| {
            let id = ids[index % ids.len()];
            async move {
                store
                    .read(id)
                    .await
                    .into_result()
                    .map(|_| ())
                    .map_err(Into::into)
            }
        })
        .await?,
    );
    rows.push(
        measure("ancestors depth 1,000", walks, 1000, |_| async move {
            let walked = store.walk_ancestors(tip, 1000).await.into_result()?;
            anyhow::ensure!(
                walked.len() == 1000,
                "walk returned {} events",
                walked.len()
            );
            Ok(())
        })
        .await?,
    );
    rows.push(
        measure("correlation chain 1,000", chains, 1000, |_| async move {
            let chain = store
                .find_correlation_chain(tenant, root)
                .await
                .into_result()?;
            anyhow::ensure!(chain.len() == 1000, "chain returned {} events", chain.len());
            Ok(())
        })
        .await?,
    );

    writeln!(
        out,
        "{:<30} {:>9} {:>14} {:>12} {:>12}",
        "operation", "ops", "events/s", "p50 µs", "p99 µs"
    )?;
    for row in &rows {
        writeln!(
            out,
            "{:<30} {:>9} {:>14.0} {:>12.1} {:>12.1}",
            row.name,
            row.operations,
            row.events_per_second(),
            row.percentile(50.0).as_secs_f64() * 1e6,
            row.percentile(99.0).as_secs_f64() * 1e6,
        )?;
    }
    Ok(())
}
