//! `TieredDag` next to `PgDag` on the same scratch PostgreSQL database, in
//! one run: hot reads by id, hot ancestors walks of depth 1,000, a chain
//! of 1,000 asked again, appends, and 90% read / 10% append mixes. Prints
//! a Markdown table with ratios.
//!
//! `cargo bench -p eventdag-tiered --bench tiered_vs_postgres`; the server
//! is `EVENTDAG_TEST_DATABASE_URL` (default the local one).
// Counts here are small, so the casts are exact.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use eventdag::EventDagExt;
use eventdag::{
    DagPosition, Event, EventDag, EventFlags, EventHeader, EventId, EventKind, TenantId,
};
use eventdag_postgres::{PgDag, PgOptions};
use eventdag_tiered::TieredDag;
use serde_json::{json, Value};
use uuid::Uuid;

fn event(tenant: TenantId, parents: Vec<EventId>, position: DagPosition, n: usize) -> Event<Value> {
    let header = EventHeader::new(
        Uuid::now_v7(),
        Uuid::nil(),
        0,
        position,
        0,
        EventKind::DATA,
        EventFlags::empty(),
    );
    Event::new(header, json!({"n": n, "note": "benchmark payload"}))
        .with_tenant(tenant)
        .with_parents(parents)
}

/// A line of `length` events in a tenant of its own, appended in batches.
async fn line(dag: &PgDag<Value>, length: usize) -> Vec<EventId> {
    let tenant = Uuid::now_v7();
    let mut ids: Vec<EventId> = Vec::with_capacity(length);
    let mut batch = Vec::new();
    for i in 0..length {
        let parents = ids.last().map(|p| vec![*p]).unwrap_or_default();
        let e = event(tenant, parents, DagPosition::new(i as u32, 0, i as u32), i);
        ids.push(e.id());
        batch.push(e);
    }
    dag.append_batch(batch).await.into_result().unwrap();
    ids
}

/// Mean time per call of `op(i)` over `ops` calls.
async fn mean<F, Fut>(ops: usize, mut op: F) -> Duration
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let started = Instant::now();
    for i in 0..ops {
        op(i).await;
    }
    started.elapsed() / ops as u32
}

/// Appends roots of a tenant of their own, one lane, one at a time.
struct Appender {
    tenant: TenantId,
    next: u32,
}

impl Appender {
    fn new() -> Self {
        Self {
            tenant: Uuid::now_v7(),
            next: 0,
        }
    }

    fn root(&mut self) -> Event<Value> {
        let e = event(
            self.tenant,
            Vec::new(),
            DagPosition::new(0, 0, self.next),
            self.next as usize,
        );
        self.next += 1;
        e
    }
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn row(name: &str, pg: Duration, tiered: Duration, target: &str) {
    let ratio = pg.as_secs_f64() / tiered.as_secs_f64();
    println!(
        "| {name} | {} | {} | {ratio:.1}× | {target} |",
        fmt(pg),
        fmt(tiered)
    );
}

/// What any store returning owned `Event<Value>`s pays for a walk of
/// 1,000 even if finding them were free: decoding each stored payload
/// into a `Value` and building the event (here from the walk's own
/// results re-encoded, as the cache stores them).
async fn decode_floor(tiered: &TieredDag<Value>, tip: EventId) -> Duration {
    let events = tiered
        .walk_ancestors(tip, 1000)
        .await
        .into_result()
        .unwrap();
    let encoded: Vec<Vec<u8>> = events
        .iter()
        .map(|e| serde_json::to_vec(&e.payload).unwrap())
        .collect();
    let runs = 300;
    let started = Instant::now();
    for _ in 0..runs {
        let mut out = Vec::with_capacity(events.len());
        for (event, bytes) in events.iter().zip(&encoded) {
            out.push(Event {
                header: event.header,
                tenant_id: event.tenant_id,
                parents: event.parents.clone(),
                payload: serde_json::from_slice::<Value>(bytes).unwrap(),
                hash: event.hash,
                hash_version: event.hash_version,
                redaction: None,
            });
        }
        std::hint::black_box(out);
    }
    started.elapsed() / runs
}

/// 90% reads / 10% appends; `read(i)` is one read. Returns ops/s.
async fn mix<S, R, Fut>(store: &S, appender: &mut Appender, ops: usize, mut read: R) -> f64
where
    S: EventDag<Payload = Value>,
    R: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let started = Instant::now();
    for i in 0..ops {
        if i % 10 == 9 {
            store.append(appender.root()).await.into_result().unwrap();
        } else {
            read(i).await;
        }
    }
    ops as f64 / started.elapsed().as_secs_f64()
}

async fn run() {
    let database = common::Database::create().await;
    let url = database.url();
    let pg: PgDag<Value> = PgDag::connect_with(&url, PgOptions::new().max_connections(4))
        .await
        .unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let tiered: TieredDag<Value> =
        TieredDag::open_with(cache_dir.path(), &url, common::test_options())
            .await
            .unwrap();
    assert!(tiered.wait_fresh(Duration::from_secs(10)).await);

    let deep = line(&pg, 1000).await;
    let tip = *deep.last().unwrap();
    let shallow = line(&pg, 100).await;
    let hot: Vec<EventId> = deep.iter().step_by(5).copied().collect();
    // Warm the cache: one walk fills the whole line.
    tiered
        .walk_ancestors(tip, 1000)
        .await
        .into_result()
        .unwrap();
    tiered
        .walk_ancestors(*shallow.last().unwrap(), 100)
        .await
        .into_result()
        .unwrap();

    println!("| benchmark | PgDag | TieredDag | PgDag / TieredDag | issue target |");
    println!("| --- | --- | --- | --- | --- |");

    let read = |store: &'static str, i: usize| (store, hot[i % hot.len()]);
    let pg_read = mean(3000, |i| {
        let (_, id) = read("pg", i);
        let pg = &pg;
        async move {
            pg.read(id).await.into_result().unwrap();
        }
    })
    .await;
    let tiered_read = mean(30_000, |i| {
        let (_, id) = read("tiered", i);
        let tiered = &tiered;
        async move {
            tiered.read(id).await.into_result().unwrap();
        }
    })
    .await;
    row("hot read by id", pg_read, tiered_read, "≥ 50×");

    let pg_walk = mean(30, |_| async {
        assert_eq!(
            pg.walk_ancestors(tip, 1000)
                .await
                .into_result()
                .unwrap()
                .len(),
            1000
        );
    })
    .await;
    let tiered_walk = mean(300, |_| async {
        assert_eq!(
            tiered
                .walk_ancestors(tip, 1000)
                .await
                .into_result()
                .unwrap()
                .len(),
            1000
        );
    })
    .await;
    row(
        "hot ancestors walk, depth 1,000",
        pg_walk,
        tiered_walk,
        "≥ 20×",
    );
    // A chain of 1,000 asked again: served by the remembered answer's ids.
    let chain = deep[0];
    let tenant = pg.read(chain).await.into_result().unwrap().tenant_id;
    tiered
        .find_correlation_chain(tenant, chain)
        .await
        .into_result()
        .unwrap();
    let pg_chain = mean(30, |_| async {
        let events = pg.find_correlation_chain(tenant, chain).await;
        assert_eq!(events.into_result().unwrap().len(), 1000);
    })
    .await;
    let tiered_chain = mean(300, |_| async {
        let events = tiered.find_correlation_chain(tenant, chain).await;
        assert_eq!(events.into_result().unwrap().len(), 1000);
    })
    .await;
    row(
        "hot correlation chain of 1,000, asked again",
        pg_chain,
        tiered_chain,
        "—",
    );
    let floor = decode_floor(&tiered, tip).await;
    println!(
        "| floor: decode the walk's 1,000 payloads into `Value` (no lookups) | — | {} | {:.1}× at most | — |",
        fmt(floor),
        pg_walk.as_secs_f64() / floor.as_secs_f64()
    );

    // Appends: interleaved blocks so that both sides see the same load.
    let (mut pg_app, mut tiered_app) = (Appender::new(), Appender::new());
    let (mut pg_total, mut tiered_total) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..10 {
        pg_total += mean(20, |_| {
            let e = pg_app.root();
            let pg = &pg;
            async move {
                pg.append(e).await.into_result().unwrap();
            }
        })
        .await;
        tiered_total += mean(20, |_| {
            let e = tiered_app.root();
            let tiered = &tiered;
            async move {
                tiered.append(e).await.into_result().unwrap();
            }
        })
        .await;
    }
    let (pg_append, tiered_append) = (pg_total / 10, tiered_total / 10);
    println!(
        "| append (single, durable) | {} | {} | {:.2}× the cost | ≤ 1.2× PgDag's cost |",
        fmt(pg_append),
        fmt(tiered_append),
        tiered_append.as_secs_f64() / pg_append.as_secs_f64()
    );

    let pg_mix = mix(&pg, &mut pg_app, 1000, |i| {
        let id = hot[i % hot.len()];
        let pg = &pg;
        async move {
            pg.read(id).await.into_result().unwrap();
        }
    })
    .await;
    let tiered_mix = mix(&tiered, &mut tiered_app, 1000, |i| {
        let id = hot[i % hot.len()];
        let tiered = &tiered;
        async move {
            tiered.read(id).await.into_result().unwrap();
        }
    })
    .await;
    println!(
        "| mix 90% read by id / 10% append (ops/s) | {pg_mix:.0} | {tiered_mix:.0} | {:.1}× | ≥ 5× |",
        tiered_mix / pg_mix
    );

    let shallow_tip = *shallow.last().unwrap();
    let walk_read = |store: &'static str, i: usize| (store, i % 2 == 0);
    let pg_mix2 = mix(&pg, &mut pg_app, 500, |i| {
        let (_, by_id) = walk_read("pg", i);
        let pg = &pg;
        let id = hot[i % hot.len()];
        async move {
            if by_id {
                pg.read(id).await.into_result().unwrap();
            } else {
                pg.walk_ancestors(shallow_tip, 100)
                    .await
                    .into_result()
                    .unwrap();
            }
        }
    })
    .await;
    let tiered_mix2 = mix(&tiered, &mut tiered_app, 500, |i| {
        let (_, by_id) = walk_read("tiered", i);
        let tiered = &tiered;
        let id = hot[i % hot.len()];
        async move {
            if by_id {
                tiered.read(id).await.into_result().unwrap();
            } else {
                tiered
                    .walk_ancestors(shallow_tip, 100)
                    .await
                    .into_result()
                    .unwrap();
            }
        }
    })
    .await;
    println!(
        "| mix 90% read (half by id, half ancestors depth 100) / 10% append (ops/s) | {pg_mix2:.0} | {tiered_mix2:.0} | {:.1}× | ≥ 5× |",
        tiered_mix2 / pg_mix2
    );
    let stats = tiered.cache_stats();
    println!(
        "\ncache after the run: {} entries, {} bytes, fresh = {}",
        stats.entries, stats.bytes, stats.fresh
    );
    drop(tiered);
    pg.close().await;
    drop(database);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}
