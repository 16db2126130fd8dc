//! Work-queue throughput on PostgreSQL (docs/queues.md,
//! docs/benchmarks.md): 8 consumers claim (32 at a time, 60 s leases) and
//! acknowledge each event with its token, beside the queue users write by
//! hand — a plain table, `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
//! LOCKED)` to lease a batch, one `UPDATE` per finished job — with the
//! same batch size, consumers and one transaction per finished job, in
//! one run on one scratch database; and the store's own plain
//! `acknowledge` of as many events (another tenant), to tell the queue's
//! cost from the acknowledgment's. Prints Markdown rows.
//!
//! `cargo bench -p eventdag-postgres --bench queue`; the server is
//! `EVENTDAG_TEST_DATABASE_URL` (default the local one);
//! `EVENTDAG_BENCH_EVENTS` sets the number of events (default 5,000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use eventdag::{
    AckLease, ClaimRequest, EventDag, EventDagExt, EventFlags, EventId, NewEvent, TenantId,
    WorkQueue, DEFAULT_TENANT,
};
use eventdag_postgres::test_support::ScratchDatabase;
use eventdag_postgres::{PgDag, PgOptions};
use serde_json::{json, Value};
use sqlx::PgPool;

const CONSUMERS: usize = 8;
const BATCH: i64 = 32;

const BASELINE_SCHEMA: &str = "CREATE TABLE jobs (
    id bigserial PRIMARY KEY, payload jsonb NOT NULL,
    lease_until timestamptz, done boolean NOT NULL DEFAULT false)";
const BASELINE_INDEX: &str = "CREATE INDEX jobs_waiting ON jobs (id) WHERE NOT done";

/// Leases a batch: the usual hand-written queue.
const BASELINE_CLAIM: &str = "UPDATE jobs SET lease_until = now() + interval '60 seconds' \
    WHERE id IN (SELECT id FROM jobs WHERE NOT done AND (lease_until IS NULL OR lease_until < now()) \
    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, payload";
const BASELINE_DONE: &str = "UPDATE jobs SET done = true WHERE id = $1";

async fn fill(store: &PgDag<Value>, tenant: TenantId, events: usize) -> Vec<EventId> {
    let mut ids = Vec::with_capacity(events);
    for start in (0..events).step_by(1_000) {
        let drafts = (start..events.min(start + 1_000))
            .map(|n| {
                NewEvent::new(json!({ "job": n }))
                    .tenant(tenant)
                    .flags(EventFlags::REQUIRES_ACK)
            })
            .collect();
        let stored = store.append_new_batch(drafts).await.ok().unwrap();
        ids.extend(stored.iter().map(|event| event.id()));
    }
    ids
}

/// The store's own SPEC §1 `acknowledge`, ids split between the
/// consumers up front: what the store's acknowledgment costs without the
/// queue.
async fn plain_acks(store: Arc<PgDag<Value>>, ids: Vec<EventId>) -> usize {
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

async fn queue(store: Arc<PgDag<Value>>) -> usize {
    let mut tasks = Vec::new();
    for consumer in 0..CONSUMERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            loop {
                let request = ClaimRequest::new(
                    DEFAULT_TENANT,
                    format!("bench-{consumer}"),
                    usize::try_from(BATCH).unwrap(),
                    Duration::from_secs(60),
                );
                let claimed = store.claim(request).await.ok().unwrap();
                if claimed.is_empty() {
                    return done;
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
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total
}

async fn baseline(pool: PgPool) -> usize {
    let mut tasks = Vec::new();
    for _ in 0..CONSUMERS {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            loop {
                let leased: Vec<(i64, Value)> = sqlx::query_as(BASELINE_CLAIM)
                    .bind(BATCH)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                if leased.is_empty() {
                    return done;
                }
                for (id, _payload) in leased {
                    sqlx::query(BASELINE_DONE)
                        .bind(id)
                        .execute(&pool)
                        .await
                        .unwrap();
                    done += 1;
                }
            }
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
        .unwrap_or(5_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let database = ScratchDatabase::create().await;
        let options = PgOptions::new().max_connections(10);
        let store = Arc::new(PgDag::<Value>::connect_with(&database.url(), options).await.unwrap());
        println!("| PostgreSQL, 8 consumers | events | time | events/s |");
        println!("|---|---:|---:|---:|");
        fill(&store, DEFAULT_TENANT, events).await;
        let started = Instant::now();
        let done = queue(Arc::clone(&store)).await;
        assert_eq!(done, events);
        row("PgDag: claim 32 + acknowledge each with its token", done, started.elapsed());

        let other = uuid::Uuid::from_u128(0x0b0b_0b0b_0000_4000_8000_0000_0000_000b);
        let ids = fill(&store, other, events).await;
        let started = Instant::now();
        let done = plain_acks(Arc::clone(&store), ids).await;
        row("PgDag: plain `acknowledge`, ids split up front", done, started.elapsed());

        let pool = store.pool().clone();
        sqlx::query(BASELINE_SCHEMA).execute(&pool).await.unwrap();
        sqlx::query(BASELINE_INDEX).execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO jobs (payload) SELECT jsonb_build_object('job', n) FROM generate_series(1, $1) AS n")
            .bind(i32::try_from(events).unwrap())
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("ANALYZE jobs").execute(&pool).await.unwrap();
        let started = Instant::now();
        let done = baseline(pool).await;
        assert_eq!(done, events);
        row("baseline: SKIP LOCKED claim of 32 + one UPDATE per job", done, started.elapsed());
        store.close().await;
        drop(database);
    });
}
