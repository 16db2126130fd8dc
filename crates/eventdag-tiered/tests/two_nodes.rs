//! Two `TieredDag` nodes in two processes sharing one PostgreSQL database,
//! each with its own cache directory. This binary (no libtest harness) is
//! node A; it re-runs itself with `TIERED_NODE_B` set to be node B.
//!
//! B caches a chain, then watches it while A acknowledges, appends,
//! compensates and cancels; then B watches events it cached while A
//! redacts one, removes a chain (retention) and erases a tenant. For each change B reports the wall-clock time
//! it first served the new state; A subtracts the time its call returned
//! (after the commit). The largest difference is the measured staleness,
//! asserted to be within the documented bound (`staleness_bound`, 1 s by
//! default); B then checks the whole state against PostgreSQL.
//!
//! A sends no notifications at all (`PgOptions::notify(false)`), as if
//! every one were lost — a writer killed between its commit and its
//! NOTIFY, a listener that reconnects: B learns every change from the
//! durable change log alone, within the same bound.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventdag::{
    now_micros, DagStore, Effect, ErrorEffect, EventDag, EventDagExt, EventFlags, EventId,
    EventKind, Forgetting, NewEvent, UpstreamSignal, DEFAULT_TENANT,
};
use eventdag_testkit::support::{ok, put, TENANT_B, TENANT_C};
use eventdag_tiered::TieredDag;
use serde_json::Value;

const ENV: &str = "TIERED_NODE_B";
const WAIT: Duration = Duration::from_secs(10);

fn now_us() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match std::env::var(ENV) {
        Ok(spec) => runtime.block_on(node_b(&spec)),
        Err(_) => {
            runtime.block_on(node_a());
            println!("test two_nodes ... ok");
        }
    }
}

/// Polls `check` every millisecond until it holds; the time it first did.
async fn first_seen<F, Fut>(what: &str, mut check: F) -> i64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while started.elapsed() < WAIT {
        if check().await {
            return now_us();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("node B never saw {what}");
}

async fn node_b(spec: &str) {
    let mut parts = spec.split(',');
    let url = parts.next().unwrap().to_owned();
    let root: EventId = parts.next().unwrap().parse().unwrap();
    let child: EventId = parts.next().unwrap().parse().unwrap();
    let secret: EventId = parts.next().unwrap().parse().unwrap();
    let old_child: EventId = parts.next().unwrap().parse().unwrap();
    let erased: EventId = parts.next().unwrap().parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b: TieredDag<Value> = TieredDag::open_with(dir.path(), &url, common::test_options())
        .await
        .unwrap();
    assert!(b.wait_fresh(WAIT).await);
    let walked = ok(b.walk_ancestors(child, 10).await);
    assert_eq!(walked.len(), 2);
    assert!(!walked[0].is_acknowledged());
    let correlation = walked[0].header.correlation_id;
    // Cache what A will forget: reads from here on come from the cache.
    assert!(!ok(b.read(secret).await).is_redacted());
    assert_eq!(ok(b.walk_ancestors(old_child, 10).await).len(), 2);
    ok(b.read(erased).await);
    let cached = b.cache_stats().entries;
    assert!(cached >= 5, "B caches what it read: {cached}");
    println!("B ready");

    let seen = first_seen("the acknowledgment", || async {
        ok(b.read(child).await).is_acknowledged()
    })
    .await;
    println!("B ack {seen}");
    let seen = first_seen("the append", || async {
        ok(b.walk_descendants(root, 10).await).len() == 3
    })
    .await;
    println!("B append {seen}");
    let seen = first_seen("the compensation", || async {
        ok(b.read(root).await)
            .header
            .flags
            .contains(EventFlags::COMPENSATED)
    })
    .await;
    println!("B compensation {seen}");
    let seen = first_seen("the cancellation", || async {
        ok(b.chain_state(DEFAULT_TENANT, correlation).await)
            .cancelled
            .is_some()
    })
    .await;
    println!("B cancel {seen}");
    let seen = first_seen("the redaction", || async {
        let event = ok(b.read(secret).await);
        event.is_redacted() && event.payload == Value::Null
    })
    .await;
    println!("B redact {seen}");
    let gone = |result: Effect<eventdag::Event<Value>>| {
        matches!(result, Effect::Err(ErrorEffect::NotFound { .. }))
    };
    let seen = first_seen("the chain removal", || async {
        gone(b.read(old_child).await)
            && matches!(
                b.walk_ancestors(old_child, 10).await,
                Effect::Err(ErrorEffect::NotFound { .. })
            )
    })
    .await;
    println!("B remove {seen}");
    let seen = first_seen("the erasure", || async { gone(b.read(erased).await) }).await;
    println!("B erase {seen}");

    // After the bound, everything B serves equals PostgreSQL's state.
    tokio::time::sleep(b.options().get_staleness_bound()).await;
    let pg = b.postgres();
    for id in [root, child] {
        assert_eq!(ok(b.read(id).await), ok(pg.read(id).await));
    }
    let tip = ok(b.walk_descendants(root, 10).await).last().unwrap().id();
    assert_eq!(
        ok(b.walk_ancestors(tip, 10).await),
        ok(pg.walk_ancestors(tip, 10).await)
    );
    assert!(ok(b.unacknowledged(10).await)
        .iter()
        .all(|e| e.id() != child));
    let signals = ok(b.signals_of(child, 10).await);
    assert_eq!(signals.len(), 2, "compensation and cancel: {signals:?}");
    let next = ok(b
        .next_position_for_tenant(DEFAULT_TENANT, Some(tip), 0)
        .await);
    let refused = b
        .append(eventdag_testkit::support::event(
            DEFAULT_TENANT,
            &[tip],
            next,
            EventKind::DATA,
            EventFlags::empty(),
            9,
        ))
        .await;
    assert!(
        matches!(refused, Effect::Err(ref e) if e.code() == "cancelled"),
        "append into a chain cancelled on node A: {refused:?}"
    );
    println!("B done");
}

struct Child {
    process: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Child {
    /// The next line B prints that starts with `B `, split.
    fn expect(&mut self, what: &str) -> Vec<String> {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("B ") {
                let words: Vec<String> = rest.split(' ').map(str::to_owned).collect();
                assert_eq!(words[0], what, "node B said {line}");
                return words;
            }
        }
        let status = self.process.wait().unwrap();
        panic!("node B exited ({status}) before saying {what}");
    }

    fn seen(&mut self, what: &str) -> i64 {
        self.expect(what)[1].parse().unwrap()
    }
}

async fn node_a() {
    let silent = eventdag_postgres::PgOptions::new()
        .max_connections(4)
        .notify(false);
    let (a, guard) = common::fresh_with(common::test_options().postgres(silent)).await;
    let root = put(
        &a,
        DEFAULT_TENANT,
        &[],
        0,
        EventKind::DATA,
        EventFlags::REQUIRES_ACK,
    )
    .await;
    let child = put(
        &a,
        DEFAULT_TENANT,
        &[&root],
        0,
        EventKind::DATA,
        EventFlags::REQUIRES_ACK,
    )
    .await;
    let secret = ok(a
        .append_new(NewEvent::new(
            serde_json::json!({"email": "ada@example.com"}),
        ))
        .await);
    let old = now_micros() - 86_400 * 1_000_000;
    let old_root = ok(a
        .append_new(
            NewEvent::new(serde_json::json!({"old": 1}))
                .tenant(TENANT_B)
                .timestamp(old),
        )
        .await);
    let old_child = ok(a
        .append_new(
            NewEvent::new(serde_json::json!({"old": 2}))
                .tenant(TENANT_B)
                .parents([old_root.id()])
                .timestamp(old),
        )
        .await);
    let erased = ok(a
        .append_new(NewEvent::new(serde_json::json!({"leaving": 1})).tenant(TENANT_C))
        .await);
    let spec = format!(
        "{},{},{},{},{},{}",
        guard.database.url(),
        root.id(),
        child.id(),
        secret.id(),
        old_child.id(),
        erased.id()
    );
    let mut process = Command::new(std::env::current_exe().unwrap())
        .env(ENV, spec)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = process.stdout.take().unwrap();
    let mut b = Child {
        process,
        lines: BufReader::new(stdout).lines(),
    };
    let expect = |b: &mut Child, what: &str| b.expect(what);
    tokio::task::block_in_place(|| expect(&mut b, "ready"));

    let mut staleness = Vec::new();
    ok(a.acknowledge(child.id(), false).await);
    let committed = now_us();
    staleness.push((
        "ack",
        tokio::task::block_in_place(|| b.seen("ack")) - committed,
    ));

    put(
        &a,
        DEFAULT_TENANT,
        &[&child],
        0,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;
    let committed = now_us();
    staleness.push((
        "append",
        tokio::task::block_in_place(|| b.seen("append")) - committed,
    ));

    ok(a.signal_upstream(
        child.id(),
        UpstreamSignal::CompensationComplete {
            event_id: root.id(),
        },
    )
    .await);
    let committed = now_us();
    staleness.push((
        "compensation",
        tokio::task::block_in_place(|| b.seen("compensation")) - committed,
    ));

    ok(a.signal_upstream(
        child.id(),
        UpstreamSignal::Cancel {
            correlation_id: root.header.correlation_id,
            reason: "stop".into(),
        },
    )
    .await);
    let committed = now_us();
    staleness.push((
        "cancel",
        tokio::task::block_in_place(|| b.seen("cancel")) - committed,
    ));

    ok(
        a.redact(DEFAULT_TENANT, secret.id(), "erasure request".into())
            .await,
    );
    let committed = now_us();
    staleness.push((
        "redaction",
        tokio::task::block_in_place(|| b.seen("redact")) - committed,
    ));

    assert_eq!(
        ok(a.remove_chain(TENANT_B, old_root.id(), now_micros()).await),
        eventdag::ChainRemoval::Removed { events: 2 }
    );
    let committed = now_us();
    staleness.push((
        "chain removal",
        tokio::task::block_in_place(|| b.seen("remove")) - committed,
    ));

    ok(a.erase_tenant(TENANT_C).await);
    let committed = now_us();
    staleness.push((
        "tenant erasure",
        tokio::task::block_in_place(|| b.seen("erase")) - committed,
    ));
    tokio::task::block_in_place(|| expect(&mut b, "done"));
    let status = b.process.wait().unwrap();
    assert!(status.success(), "node B failed: {status}");

    let bound = a.options().get_staleness_bound();
    let mut out = std::io::stdout().lock();
    for (what, micros) in &staleness {
        writeln!(out, "staleness of {what} on node B: {} µs", micros.max(&0)).unwrap();
        assert!(
            u128::from(micros.max(&0).unsigned_abs()) <= bound.as_micros(),
            "{what} took {micros} µs to reach node B, bound {bound:?}"
        );
    }
    drop(a);
    drop(guard);
}
