//! Work-queue throughput on LMDB (docs/queues.md, docs/benchmarks.md):
//! 8 consumers claim (32 at a time, 60 s leases) and acknowledge each
//! event with its token, beside the baseline of the same store's plain
//! `acknowledge` with the events split between the 8 consumers up front
//! (no claims, no leases: what acknowledging alone costs), in one run, on
//! the default durable setting. Prints Markdown rows.
//!
//! `cargo bench -p eventdag-lmdb --bench queue`; `EVENTDAG_BENCH_EVENTS`
//! sets the number of events (default 20,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use eventdag::{
    AckLease, ClaimRequest, EventDag, EventDagExt, EventFlags, EventId, NewEvent, WorkQueue,
    DEFAULT_TENANT,
};
use eventdag_lmdb::LmdbDag;
use serde_json::{json, Value};

const CONSUMERS: usize = 8;
const BATCH: usize = 32;

async fn fill(store: &LmdbDag<Value>, events: usize) -> Vec<EventId> {
    let mut ids = Vec::with_capacity(events);
    for start in (0..events).step_by(1_000) {
        let drafts = (start..events.min(start + 1_000))
            .map(|n| NewEvent::new(json!({ "job": n })).flags(EventFlags::REQUIRES_ACK))
            .collect();
        let stored = store.append_new_batch(drafts).await.ok().unwrap();
        ids.extend(stored.iter().map(|event| event.id()));
    }
    ids
}

/// Events acknowledged, and the time the consumers spent waiting for
/// claims (summed over consumers).
async fn queue(store: Arc<LmdbDag<Value>>) -> (usize, Duration) {
    let mut tasks = Vec::new();
    for consumer in 0..CONSUMERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            let mut claiming = Duration::ZERO;
            loop {
                let request = ClaimRequest::new(
                    DEFAULT_TENANT,
                    format!("bench-{consumer}"),
                    BATCH,
                    Duration::from_secs(60),
                );
                let asked = Instant::now();
                let claimed = store.claim(request).await.ok().unwrap();
                claiming += asked.elapsed();
                if claimed.is_empty() {
                    return (done, claiming);
                }
                for claimed in claimed {
                    store
                        .acknowledge_leased(
                            DEFAULT_TENANT,
                            claimed.event.id(),
                            AckLease::Token(claimed.lease.token),
                            false,
                        )
                        .await
                        .ok()
                        .unwrap();
                    done += 1;
                }
            }
        }));
    }
    let (mut total, mut claiming) = (0, Duration::ZERO);
    for task in tasks {
        let (done, waited) = task.await.unwrap();
        total += done;
        claiming += waited;
    }
    (total, claiming)
}

async fn plain_acks(store: Arc<LmdbDag<Value>>, ids: Vec<EventId>) -> usize {
    let share = ids.len().div_ceil(CONSUMERS);
    let mut tasks = Vec::new();
    for part in ids.chunks(share) {
        let (store, part) = (Arc::clone(&store), part.to_vec());
        tasks.push(tokio::spawn(async move {
            for id in &part {
                store.acknowledge(*id, false).await.ok().unwrap();
            }
            part.len()
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total
}

fn row(name: &str, events: usize, elapsed: Duration) {
    println!(
        "| {name} | {events} | {:.2} s | {:.0} |",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let events: usize = std::env::var("EVENTDAG_BENCH_EVENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!("| LMDB, 8 consumers, durable | events | time | events/s |");
        println!("|---|---:|---:|---:|");
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LmdbDag::<Value>::open(dir.path().join("queue")).unwrap());
        fill(&store, events).await;
        let started = Instant::now();
        let (done, claiming) = queue(Arc::clone(&store)).await;
        assert_eq!(done, events);
        row(
            "claim 32 + acknowledge each with its token",
            done,
            started.elapsed(),
        );
        println!(
            "| (of which consumers waited for claims, summed over the 8) | | {:.2} s | |",
            claiming.as_secs_f64()
        );

        let store = Arc::new(LmdbDag::<Value>::open(dir.path().join("plain")).unwrap());
        let ids = fill(&store, events).await;
        let started = Instant::now();
        let done = plain_acks(Arc::clone(&store), ids).await;
        row(
            "baseline: plain `acknowledge`, ids split up front",
            done,
            started.elapsed(),
        );
    });
}
