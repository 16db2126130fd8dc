//! `LmdbDag` side by side with the baseline a user would otherwise pick:
//! SQLite through rusqlite (WAL, synchronous=FULL, an events table and a
//! parents table with the same indexes, ancestors by recursive CTE).
//!
//! `cargo bench -p eventdag-lmdb --bench lmdb_vs_sqlite`; before criterion's
//! groups it prints durable single-append latency percentiles (and those of
//! the less durable sync modes) and the effect of group commit under
//! concurrent appends.
//!
//! Payload types: the `lmdb` / `sqlite` rows decode every payload into a
//! `serde_json::Value` on both sides; the `lmdb_raw` / `sqlite_raw` rows
//! return it as `eventdag::RawJson` (its JSON text, checked but not built
//! into a tree) on both sides — what the server and the CLI use.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    missing_docs
)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use eventdag::EventDagExt;
use eventdag::{
    DagPosition, Event, EventDag, EventFlags, EventHeader, EventId, EventKind, RawJson,
    DEFAULT_TENANT,
};
use eventdag_lmdb::{LmdbDag, LmdbOptions, SyncMode};
use rusqlite::{params, Connection};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use tempfile::TempDir;

const BATCH: usize = 1000;
const DEPTH: usize = 1000;

/// A payload whose JSON encoding is 256 bytes.
fn payload(n: u64) -> Value {
    let head = json!({"n": n, "pad": ""}).to_string().len();
    json!({"n": n, "pad": "x".repeat(256 - head)})
}

fn event<P: From<Value>>(parent: Option<EventId>, position: DagPosition, n: u64) -> Event<P> {
    let header = EventHeader::new(
        eventdag::new_event_id(),
        EventId::nil(),
        0,
        position,
        0,
        EventKind::DATA,
        EventFlags::empty(),
    );
    Event::new(header, P::from(payload(n))).with_parents(parent.into_iter().collect())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

struct Lmdb<P = Value> {
    store: LmdbDag<P>,
    next_sequence: u32,
    _dir: TempDir,
}

impl<P> Lmdb<P>
where
    P: Serialize + DeserializeOwned + From<Value> + Clone + Send + Sync + 'static,
{
    fn open(options: LmdbOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            store: options.open(dir.path()).unwrap(),
            next_sequence: 0,
            _dir: dir,
        }
    }

    /// A line of `length` events on lane 0; returns their ids.
    fn line(&mut self, rt: &tokio::runtime::Runtime, length: usize) -> Vec<EventId> {
        let mut events: Vec<Event<P>> = Vec::with_capacity(length);
        for depth in 0..length {
            let parent = events.last().map(Event::id);
            let position = DagPosition::new(u32::try_from(depth).unwrap(), 0, self.next_sequence);
            self.next_sequence += 1;
            events.push(event(parent, position, depth as u64));
        }
        rt.block_on(self.store.append_batch(events)).ok().unwrap()
    }

    fn roots(&mut self, count: usize) -> Vec<Event<P>> {
        (0..count)
            .map(|n| {
                let position = DagPosition::new(0, 0, self.next_sequence);
                self.next_sequence += 1;
                event(None, position, n as u64)
            })
            .collect()
    }
}

struct Sqlite {
    conn: Connection,
    next_sequence: u32,
    _dir: TempDir,
}

impl Sqlite {
    fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("events.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.execute_batch(
            "CREATE TABLE events (
                id BLOB PRIMARY KEY, tenant_id BLOB NOT NULL, correlation_id BLOB NOT NULL,
                timestamp INTEGER NOT NULL, depth INTEGER NOT NULL, lane INTEGER NOT NULL,
                sequence INTEGER NOT NULL, kind INTEGER NOT NULL, flags INTEGER NOT NULL,
                payload BLOB NOT NULL, hash BLOB NOT NULL) WITHOUT ROWID;
             CREATE UNIQUE INDEX events_lane ON events (tenant_id, lane, sequence);
             CREATE INDEX events_correlation ON events (tenant_id, correlation_id, depth, lane, sequence);
             CREATE INDEX events_kind ON events (kind, depth, lane, sequence, tenant_id);
             CREATE INDEX events_tenant_kind ON events (tenant_id, kind, depth, lane, sequence);
             CREATE INDEX events_unacked ON events (timestamp, id) WHERE flags & 1 = 1;
             CREATE TABLE parents (child BLOB NOT NULL, parent BLOB NOT NULL,
                PRIMARY KEY (child, parent)) WITHOUT ROWID;
             CREATE INDEX parents_parent ON parents (parent, child);",
        )
        .unwrap();
        Self {
            conn,
            next_sequence: 0,
            _dir: dir,
        }
    }

    fn insert(&mut self, events: &[Event<Value>]) {
        let txn = self.conn.transaction().unwrap();
        {
            let mut insert = txn
                .prepare_cached(
                    "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .unwrap();
            let mut parent = txn
                .prepare_cached("INSERT INTO parents VALUES (?1, ?2)")
                .unwrap();
            for event in events {
                let h = &event.header;
                let correlation = if h.correlation_id.is_nil() {
                    h.event_id
                } else {
                    h.correlation_id
                };
                insert
                    .execute(params![
                        h.event_id.as_bytes(),
                        event.tenant_id.as_bytes(),
                        correlation.as_bytes(),
                        eventdag::now_micros(),
                        h.position.depth,
                        h.position.lane,
                        h.position.sequence,
                        h.event_kind.0,
                        h.flags.bits(),
                        serde_json::to_vec(&event.payload).unwrap(),
                        [0u8; 32].as_slice(),
                    ])
                    .unwrap();
                for p in &event.parents {
                    parent
                        .execute(params![h.event_id.as_bytes(), p.as_bytes()])
                        .unwrap();
                }
            }
        }
        txn.commit().unwrap();
    }

    fn line(&mut self, length: usize) -> Vec<EventId> {
        let mut events: Vec<Event<Value>> = Vec::with_capacity(length);
        for depth in 0..length {
            let parent = events.last().map(Event::id);
            let position = DagPosition::new(u32::try_from(depth).unwrap(), 0, self.next_sequence);
            self.next_sequence += 1;
            events.push(event(parent, position, depth as u64));
        }
        self.insert(&events);
        events.iter().map(Event::id).collect()
    }

    fn roots(&mut self, count: usize) -> Vec<Event<Value>> {
        (0..count)
            .map(|n| {
                let position = DagPosition::new(0, 0, self.next_sequence);
                self.next_sequence += 1;
                event(None, position, n as u64)
            })
            .collect()
    }

    fn read<P: DeserializeOwned>(&self, id: &EventId) -> (u32, P) {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT tenant_id, correlation_id, timestamp, depth, lane, sequence, kind, flags, payload, hash
                 FROM events WHERE id = ?1",
            )
            .unwrap();
        statement
            .query_row([id.as_bytes()], |row| {
                let payload: Vec<u8> = row.get(8)?;
                Ok((row.get(3)?, serde_json::from_slice(&payload).unwrap()))
            })
            .unwrap()
    }

    fn ancestors<P: DeserializeOwned>(&self, from: &EventId, limit: usize) -> Vec<(EventId, P)> {
        let mut statement = self
            .conn
            .prepare_cached(
                "WITH RECURSIVE anc(id) AS (
                    SELECT ?1 UNION SELECT p.parent FROM parents p JOIN anc ON p.child = anc.id)
                 SELECT e.id, e.payload FROM events e JOIN anc ON e.id = anc.id
                 ORDER BY e.depth DESC, e.lane DESC, e.sequence DESC LIMIT ?2",
            )
            .unwrap();
        statement
            .query_map(params![from.as_bytes(), limit], |row| {
                let id: Vec<u8> = row.get(0)?;
                let payload: Vec<u8> = row.get(1)?;
                Ok((
                    EventId::from_slice(&id).unwrap(),
                    serde_json::from_slice(&payload).unwrap(),
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn latencies(mut samples: Vec<Duration>) -> String {
    samples.sort_unstable();
    format!(
        "p50 {:>8.1?}  p99 {:>8.1?}  max {:>8.1?}",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    )
}

/// Durable single appends, one at a time: latency percentiles.
fn single_append_latency(rt: &tokio::runtime::Runtime) {
    const N: usize = 300;
    let mut lmdb: Lmdb = Lmdb::open(LmdbOptions::default());
    let mut samples = Vec::with_capacity(N);
    for event in lmdb.roots(N) {
        let started = Instant::now();
        rt.block_on(lmdb.store.append(event)).ok().unwrap();
        samples.push(started.elapsed());
    }
    println!("single durable append  lmdb    {}", latencies(samples));
    for (name, mode) in [
        ("lmdb NoMetaSync", SyncMode::NoMetaSync),
        ("lmdb NoSync", SyncMode::NoSync),
    ] {
        let mut lmdb: Lmdb = Lmdb::open(LmdbOptions::default().sync_mode(mode));
        let mut samples = Vec::with_capacity(N);
        for event in lmdb.roots(N) {
            let started = Instant::now();
            rt.block_on(lmdb.store.append(event)).ok().unwrap();
            samples.push(started.elapsed());
        }
        println!("single append  {name:<16} {}", latencies(samples));
    }
    let mut sqlite = Sqlite::open();
    let mut samples = Vec::with_capacity(N);
    for event in sqlite.roots(N) {
        let started = Instant::now();
        sqlite.insert(std::slice::from_ref(&event));
        samples.push(started.elapsed());
    }
    println!("single durable append  sqlite  {}", latencies(samples));
}

/// 32 tasks appending durably at once, with and without group commit.
fn group_commit_effect() {
    const TASKS: usize = 32;
    const EACH: usize = 20;
    for group in [1, eventdag_lmdb::DEFAULT_GROUP_COMMIT] {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let lmdb: Lmdb = Lmdb::open(LmdbOptions::default().group_commit(group));
        let started = Instant::now();
        rt.block_on(async {
            let tasks: Vec<_> = (0..TASKS as u32)
                .map(|lane| {
                    let store = lmdb.store.clone();
                    tokio::spawn(async move {
                        for sequence in 0..EACH as u32 {
                            let e = event::<Value>(None, DagPosition::new(0, lane, sequence), 0)
                                .with_tenant(DEFAULT_TENANT);
                            store.append(e).await.ok().unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        let elapsed = started.elapsed();
        println!(
            "concurrent durable appends ({TASKS} tasks x {EACH}), group_commit={group:>2}: {:>8.0} appends/s",
            (TASKS * EACH) as f64 / elapsed.as_secs_f64()
        );
    }
}

fn benches(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let mut lmdb: Lmdb = Lmdb::open(LmdbOptions::default());
    let mut sqlite = Sqlite::open();
    let lmdb_line = lmdb.line(rt, DEPTH + 1);
    let sqlite_line = sqlite.line(DEPTH + 1);
    // The same line in a store of `RawJson` payloads (one store has one
    // payload type); SQLite's rows are payload-agnostic text.
    let mut lmdb_raw: Lmdb<RawJson> = Lmdb::open(LmdbOptions::default());
    let raw_line = lmdb_raw.line(rt, DEPTH + 1);

    let mut group = c.benchmark_group("read_by_id_hot");
    group.throughput(Throughput::Elements(1));
    let id = lmdb_line[DEPTH / 2];
    // The reads run inside one `block_on` per sample, as an async program
    // would call them: entering the runtime once per read would measure
    // tokio's entry cost, not the store's.
    group.bench_function("lmdb", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(lmdb.store.read(id).await.ok().unwrap());
                }
                started.elapsed()
            })
        })
    });
    let id = raw_line[DEPTH / 2];
    group.bench_function("lmdb_raw", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(lmdb_raw.store.read(id).await.ok().unwrap());
                }
                started.elapsed()
            })
        })
    });
    let id = sqlite_line[DEPTH / 2];
    group.bench_function("sqlite", |b| b.iter(|| sqlite.read::<Value>(&id)));
    group.bench_function("sqlite_raw", |b| b.iter(|| sqlite.read::<RawJson>(&id)));
    group.finish();

    let mut group = c.benchmark_group("ancestors_depth_1000");
    group.throughput(Throughput::Elements(DEPTH as u64));
    let tip = lmdb_line[DEPTH];
    group.bench_function("lmdb", |b| {
        b.iter(|| {
            let events = rt
                .block_on(lmdb.store.walk_ancestors(tip, DEPTH))
                .ok()
                .unwrap();
            assert_eq!(events.len(), DEPTH);
        });
    });
    let tip = raw_line[DEPTH];
    group.bench_function("lmdb_raw", |b| {
        b.iter(|| {
            let events = rt
                .block_on(lmdb_raw.store.walk_ancestors(tip, DEPTH))
                .ok()
                .unwrap();
            assert_eq!(events.len(), DEPTH);
        });
    });
    let tip = sqlite_line[DEPTH];
    group.bench_function("sqlite", |b| {
        b.iter(|| assert_eq!(sqlite.ancestors::<Value>(&tip, DEPTH).len(), DEPTH));
    });
    group.bench_function("sqlite_raw", |b| {
        b.iter(|| assert_eq!(sqlite.ancestors::<RawJson>(&tip, DEPTH).len(), DEPTH));
    });
    group.finish();

    let mut group = c.benchmark_group("append_batch_1000x256B");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("lmdb", BATCH), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch = lmdb.roots(BATCH);
                let started = Instant::now();
                let stored = rt.block_on(lmdb.store.append_batch(batch)).ok().unwrap();
                total += started.elapsed();
                // Dropped untimed, as SQLite's side drops its batch.
                drop(stored);
            }
            total
        });
    });
    group.bench_function(BenchmarkId::new("sqlite", BATCH), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch = sqlite.roots(BATCH);
                let started = Instant::now();
                sqlite.insert(&batch);
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();

    let mut group = c.benchmark_group("single_durable_append");
    group.sample_size(10);
    group.bench_function("lmdb", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for event in lmdb.roots(usize::try_from(iters).unwrap()) {
                let started = Instant::now();
                rt.block_on(lmdb.store.append(event)).ok().unwrap();
                total += started.elapsed();
            }
            total
        });
    });
    group.bench_function("sqlite", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for event in sqlite.roots(usize::try_from(iters).unwrap()) {
                let started = Instant::now();
                sqlite.insert(std::slice::from_ref(&event));
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

fn main() {
    let rt = runtime();
    // A named benchmark (a filter argument, as for profiling one row)
    // skips the printed latency and group-commit runs.
    let filtered = std::env::args().skip(1).any(|arg| !arg.starts_with('-'));
    if !filtered {
        single_append_latency(&rt);
        group_commit_effect();
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    benches(&mut criterion, &rt);
    criterion.final_summary();
}
