//! PgDag next to the baseline users write by hand (an events table and a
//! parents table through sqlx, ancestors walked one query per hop), in one
//! run on one scratch database. Prints a Markdown table.
//!
//! `cargo bench -p eventdag-postgres --bench postgres`; the server is
//! `EVENTDAG_TEST_DATABASE_URL` (default the local one). Quick mode for CI:
//! `EVENTDAG_BENCH_QUICK=1`.
// Counts here are small (at most a few thousand), so the casts are exact.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    missing_docs
)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventdag::EventDagExt;
use eventdag::{
    DagPosition, Event, EventDag, EventFlags, EventHeader, EventId, EventKind, TenantId,
};
use eventdag_postgres::{PgDag, PgOptions};
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

const BASELINE_SCHEMA: &str = "
CREATE TABLE naive_events (
    id uuid PRIMARY KEY, tenant_id uuid NOT NULL, correlation_id uuid NOT NULL,
    depth bigint NOT NULL, lane bigint NOT NULL, sequence bigint NOT NULL,
    kind integer NOT NULL, flags smallint NOT NULL, ts bigint NOT NULL, payload jsonb NOT NULL);
CREATE INDEX naive_events_correlation ON naive_events (correlation_id);
CREATE TABLE naive_parents (child uuid NOT NULL, parent uuid NOT NULL, PRIMARY KEY (child, parent));
";

struct Row {
    name: &'static str,
    ops: usize,
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Row {
    fn line(&self) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let pick = |q: f64| {
            let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted[index].as_secs_f64() * 1000.0
        };
        format!(
            "| {} | {} | {:.0} | {:.3} | {:.3} |",
            self.name,
            self.ops,
            self.events as f64 / self.elapsed.as_secs_f64(),
            pick(0.5),
            pick(0.99)
        )
    }
}

async fn measure<F, Fut>(name: &'static str, ops: usize, events_per_op: usize, mut op: F) -> Row
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut latencies = Vec::with_capacity(ops);
    let started = Instant::now();
    for i in 0..ops {
        let t = Instant::now();
        op(i).await;
        latencies.push(t.elapsed());
    }
    Row {
        name,
        ops,
        events: ops * events_per_op,
        elapsed: started.elapsed(),
        latencies,
    }
}

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

/// A line of `length` events in a tenant of its own: returns the ids.
async fn pg_line(dag: &PgDag<Value>, length: usize) -> Vec<EventId> {
    let tenant = Uuid::now_v7();
    let mut ids: Vec<EventId> = Vec::with_capacity(length);
    let mut batch = Vec::new();
    for i in 0..length {
        let parents = ids.last().map(|p| vec![*p]).unwrap_or_default();
        let e = event(tenant, parents, DagPosition::new(i as u32, 0, i as u32), i);
        ids.push(e.id());
        batch.push(e);
        if batch.len() == 1000 {
            dag.append_batch(std::mem::take(&mut batch))
                .await
                .into_result()
                .unwrap();
        }
    }
    if !batch.is_empty() {
        dag.append_batch(batch).await.into_result().unwrap();
    }
    ids
}

async fn naive_insert(conn: &mut sqlx::PgConnection, e: &Event<Value>) {
    let p = e.header.position;
    sqlx::query("INSERT INTO naive_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(e.id())
        .bind(e.tenant_id)
        .bind(if e.header.correlation_id.is_nil() {
            e.parents.first().copied().unwrap_or(e.id())
        } else {
            e.header.correlation_id
        })
        .bind(i64::from(p.depth))
        .bind(i64::from(p.lane))
        .bind(i64::from(p.sequence))
        .bind(i32::from(e.header.event_kind.0))
        .bind(i16::from(e.header.flags.bits()))
        .bind(0i64)
        .bind(&e.payload)
        .execute(&mut *conn)
        .await
        .unwrap();
    for parent in &e.parents {
        sqlx::query("INSERT INTO naive_parents VALUES ($1, $2)")
            .bind(e.id())
            .bind(parent)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
}

async fn naive_append(pool: &PgPool, events: &[Event<Value>]) {
    let mut tx = pool.begin().await.unwrap();
    for e in events {
        naive_insert(&mut tx, e).await;
    }
    tx.commit().await.unwrap();
}

/// The baseline line: the root's id is the correlation id of all.
async fn naive_line(pool: &PgPool, length: usize) -> Vec<EventId> {
    let tenant = Uuid::now_v7();
    let mut ids: Vec<EventId> = Vec::new();
    let mut batch = Vec::new();
    for i in 0..length {
        let parents = ids.last().map(|p| vec![*p]).unwrap_or_default();
        let mut e = event(tenant, parents, DagPosition::new(i as u32, 0, i as u32), i);
        e.header.correlation_id = ids.first().copied().unwrap_or(e.id());
        ids.push(e.id());
        batch.push(e);
    }
    for chunk in batch.chunks(1000) {
        naive_append(pool, chunk).await;
    }
    ids
}

/// Ancestors the way users write them: one query per hop.
async fn naive_ancestors(pool: &PgPool, from: EventId) -> usize {
    let mut seen = std::collections::HashSet::from([from]);
    let mut frontier = vec![from];
    let mut out = Vec::new();
    while let Some(id) = frontier.pop() {
        let row: (Uuid, Value, Vec<Uuid>) = sqlx::query_as(
            "SELECT e.id, e.payload, coalesce(array_agg(p.parent) FILTER (WHERE p.parent IS NOT NULL), '{}') \
             FROM naive_events e LEFT JOIN naive_parents p ON p.child = e.id WHERE e.id = $1 GROUP BY e.id",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
        out.push(row.0);
        for parent in row.2 {
            if seen.insert(parent) {
                frontier.push(parent);
            }
        }
    }
    out.len()
}

async fn concurrent<F, Fut>(name: &'static str, tasks: usize, per_task: usize, make: F) -> Row
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Vec<Duration>> + Send + 'static,
{
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks).map(|t| tokio::spawn(make(t))).collect();
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.await.unwrap());
    }
    Row {
        name,
        ops: tasks * per_task,
        events: tasks * per_task,
        elapsed: started.elapsed(),
        latencies,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("EVENTDAG_BENCH_QUICK").is_ok();
    let scale = |full: usize, small: usize| if quick { small } else { full };
    let admin_url = std::env::var("EVENTDAG_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("eventdag_bench_{}", Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL not reachable at {admin_url} ({e}); start it with `pg_ctlcluster --skip-systemctl-redirect 15 main start`")
    });
    admin
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .unwrap();
    let (server, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{server}/{name}");

    let dag: PgDag<Value> = PgDag::connect_with(&url, PgOptions::new().max_connections(17))
        .await
        .unwrap();
    let pool = PgPool::connect(&url).await.unwrap();
    pool.execute(BASELINE_SCHEMA).await.unwrap();
    let settings: (String, String) =
        sqlx::query_as("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut rows: Vec<Row> = Vec::new();

    // Single append.
    let single = scale(2000, 200);
    let tenant = Uuid::now_v7();
    let dag_ref = &dag;
    rows.push(
        measure("single append — PgDag", single, 1, |i| async move {
            let e = event(tenant, vec![], DagPosition::new(0, 0, i as u32), i);
            dag_ref.append(e).await.into_result().unwrap();
        })
        .await,
    );
    let pool_ref = &pool;
    rows.push(
        measure("single append — baseline", single, 1, |i| async move {
            naive_append(
                pool_ref,
                &[event(tenant, vec![], DagPosition::new(0, 0, i as u32), i)],
            )
            .await;
        })
        .await,
    );

    // Batch append, 1,000 per batch.
    let batches = scale(30, 5);
    let tenant = Uuid::now_v7();
    rows.push(
        measure(
            "batch append ×1000 — PgDag",
            batches,
            1000,
            |b| async move {
                let batch: Vec<_> = (0..1000)
                    .map(|i| {
                        event(
                            tenant,
                            vec![],
                            DagPosition::new(0, 1, (b * 1000 + i) as u32),
                            i,
                        )
                    })
                    .collect();
                dag_ref.append_batch(batch).await.into_result().unwrap();
            },
        )
        .await,
    );
    rows.push(
        measure(
            "batch append ×1000 — baseline",
            batches,
            1000,
            |b| async move {
                let batch: Vec<_> = (0..1000)
                    .map(|i| {
                        event(
                            tenant,
                            vec![],
                            DagPosition::new(0, 1, (b * 1000 + i) as u32),
                            i,
                        )
                    })
                    .collect();
                naive_append(pool_ref, &batch).await;
            },
        )
        .await,
    );

    // Read by id.
    let line_pg = pg_line(&dag, 1001).await;
    let line_naive = naive_line(&pool, 1001).await;
    let reads = scale(5000, 500);
    let (pg_ids, naive_ids) = (&line_pg, &line_naive);
    rows.push(
        measure("read by id — PgDag", reads, 1, |i| async move {
            dag_ref
                .read(pg_ids[i % pg_ids.len()])
                .await
                .into_result()
                .unwrap();
        })
        .await,
    );
    rows.push(
        measure("read by id — baseline", reads, 1, |i| async move {
            let _: (Uuid, Value) =
                sqlx::query_as("SELECT id, payload FROM naive_events WHERE id = $1")
                    .bind(naive_ids[i % naive_ids.len()])
                    .fetch_one(pool_ref)
                    .await
                    .unwrap();
        })
        .await,
    );

    // Ancestors at depth 100 and 1,000 (events returned = depth + 1).
    for (depth, ops_pg, ops_naive, label_pg, label_naive) in [
        (
            100usize,
            scale(300, 30),
            scale(100, 10),
            "ancestors depth 100 — PgDag",
            "ancestors depth 100 — baseline per hop",
        ),
        (
            1000,
            scale(60, 10),
            scale(10, 3),
            "ancestors depth 1000 — PgDag",
            "ancestors depth 1000 — baseline per hop",
        ),
    ] {
        rows.push(
            measure(label_pg, ops_pg, depth + 1, |_| async move {
                let walked = dag_ref
                    .walk_ancestors(pg_ids[depth], 10_000)
                    .await
                    .into_result()
                    .unwrap();
                assert_eq!(walked.len(), depth + 1);
            })
            .await,
        );
        rows.push(
            measure(label_naive, ops_naive, depth + 1, |_| async move {
                assert_eq!(naive_ancestors(pool_ref, naive_ids[depth]).await, depth + 1);
            })
            .await,
        );
    }

    // Correlation chain of 1,000.
    let chain_pg = pg_line(&dag, 1000).await;
    let chain_naive = naive_line(&pool, 1000).await;
    let chain_tenant = dag.read(chain_pg[0]).await.into_result().unwrap().tenant_id;
    let (chain_root_pg, chain_root_naive) = (chain_pg[0], chain_naive[0]);
    let chains = scale(100, 10);
    rows.push(
        measure(
            "correlation chain 1000 — PgDag",
            chains,
            1000,
            |_| async move {
                let chain = dag_ref
                    .find_correlation_chain(chain_tenant, chain_root_pg)
                    .await
                    .into_result()
                    .unwrap();
                assert_eq!(chain.len(), 1000);
            },
        )
        .await,
    );
    rows.push(measure("correlation chain 1000 — baseline", chains, 1000, |_| async move {
        let chain: Vec<(Uuid, Value)> = sqlx::query_as(
            "SELECT id, payload FROM naive_events WHERE correlation_id = $1 ORDER BY depth, lane, sequence",
        )
        .bind(chain_root_naive)
        .fetch_all(pool_ref)
        .await
        .unwrap();
        assert_eq!(chain.len(), 1000);
    }).await);

    // 16 concurrent appenders, single appends, each on its own lane.
    let per_task = scale(150, 20);
    for (label, tenants) in [
        ("16 appenders, one tenant — PgDag", 1usize),
        ("16 appenders, 16 tenants — PgDag", 16),
    ] {
        let base = Uuid::now_v7();
        let dag = Arc::new(dag.clone());
        rows.push(
            concurrent(label, 16, per_task, |t| {
                let dag = Arc::clone(&dag);
                let tenant = if tenants == 1 {
                    base
                } else {
                    Uuid::from_u128(base.as_u128() + t as u128)
                };
                async move {
                    let mut latencies = Vec::with_capacity(per_task);
                    for i in 0..per_task {
                        let started = Instant::now();
                        let e = event(
                            tenant,
                            vec![],
                            DagPosition::new(0, 100 + t as u32, i as u32),
                            i,
                        );
                        dag.append(e).await.into_result().unwrap();
                        latencies.push(started.elapsed());
                    }
                    latencies
                }
            })
            .await,
        );
    }
    let shared_pool = pool.clone();
    rows.push(
        concurrent("16 appenders — baseline", 16, per_task, |t| {
            let pool = shared_pool.clone();
            let tenant = Uuid::now_v7();
            async move {
                let mut latencies = Vec::with_capacity(per_task);
                for i in 0..per_task {
                    let started = Instant::now();
                    naive_append(
                        &pool,
                        &[event(
                            tenant,
                            vec![],
                            DagPosition::new(0, 100 + t as u32, i as u32),
                            i,
                        )],
                    )
                    .await;
                    latencies.push(started.elapsed());
                }
                latencies
            }
        })
        .await,
    );

    println!(
        "server: fsync={}, synchronous_commit={}",
        settings.0, settings.1
    );
    println!("| operation | ops | events/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for row in &rows {
        println!("{}", row.line());
    }

    dag.close().await;
    pool.close().await;
    admin
        .execute(format!("DROP DATABASE \"{name}\" WITH (FORCE)").as_str())
        .await
        .unwrap();
}
