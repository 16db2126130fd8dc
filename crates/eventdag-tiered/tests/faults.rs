//! Faults: a cache directory deleted or damaged between runs starts empty
//! and loses nothing; with PostgreSQL stopped (a private instance, never
//! the shared server) cached reads keep working, writes fail with an
//! operational error in bounded time, and everything recovers when it is
//! back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use eventdag::{Effect, EventDag, EventId, DEFAULT_TENANT};
use eventdag_postgres::PgOptions;
use eventdag_testkit::support::{child, line, ok};
use eventdag_tiered::{TieredDag, TieredOptions};
use serde_json::Value;

use common::{fresh, test_options};

async fn reopen(dir: &std::path::Path, url: &str) -> TieredDag<Value> {
    let store = TieredDag::open_with(dir, url, test_options())
        .await
        .unwrap();
    assert!(store.wait_fresh(Duration::from_secs(10)).await);
    store
}

async fn fill_and_close(store: TieredDag<Value>) -> Vec<eventdag::Event<Value>> {
    let events = line(&store, DEFAULT_TENANT, 12).await;
    ok(store.walk_ancestors(events.last().unwrap().id(), 100).await);
    assert!(store.cache_stats().entries >= 12);
    drop(store);
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_cache_directory_starts_empty_and_loses_nothing() {
    let (store, guard) = fresh().await;
    let events = fill_and_close(store).await;
    std::fs::remove_dir_all(guard.cache_dir.path()).unwrap();
    let store = reopen(guard.cache_dir.path(), &guard.database.url()).await;
    assert_eq!(store.cache_stats().entries, 0);
    let tip = events.last().unwrap().id();
    let walked = ok(store.walk_ancestors(tip, 100).await);
    assert_eq!(walked, events.iter().rev().cloned().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_cache_file_starts_empty_and_loses_nothing() {
    let (store, guard) = fresh().await;
    let events = fill_and_close(store).await;
    let data = guard.cache_dir.path().join("data.mdb");
    let len = std::fs::metadata(&data).unwrap().len();
    std::fs::write(&data, vec![0xA5; usize::try_from(len).unwrap()]).unwrap();
    let store = reopen(guard.cache_dir.path(), &guard.database.url()).await;
    assert_eq!(store.cache_stats().entries, 0);
    for event in &events {
        assert_eq!(&ok(store.read(event.id()).await), event);
    }
}

/// A cache written by an older release (format 1, BLAKE3 checks) is not
/// read with today's checks: it is wiped and refilled from PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_of_an_older_format_starts_empty_and_loses_nothing() {
    let (store, guard) = fresh().await;
    let events = fill_and_close(store).await;
    let tables = ["tiered_meta", "tiered_events", "tiered_age"];
    // The dropped store's background fills may hold the directory for a
    // moment, as `TieredDag::open` also allows for.
    let started = Instant::now();
    let raw = loop {
        match eventdag_lmdb::RawStore::open(
            guard.cache_dir.path(),
            &eventdag_lmdb::LmdbOptions::default(),
            &tables,
        ) {
            Err(eventdag_lmdb::LmdbError::Locked { .. })
                if started.elapsed() < Duration::from_secs(5) =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => break other.unwrap(),
        }
    };
    raw.write(|w| w.put(0, b"format", b"eventdag-tiered-cache/1"))
        .unwrap();
    drop(raw);
    let store = reopen(guard.cache_dir.path(), &guard.database.url()).await;
    assert_eq!(store.cache_stats().entries, 0);
    let tip = events.last().unwrap().id();
    let walked = ok(store.walk_ancestors(tip, 100).await);
    assert_eq!(walked, events.iter().rev().cloned().collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_cached_by_an_earlier_run_are_not_trusted_after_reopen() {
    let (store, guard) = fresh().await;
    let events = fill_and_close(store).await;
    // Acknowledged while no node listened: the cache never heard of it.
    let pg: eventdag_postgres::PgDag<Value> =
        eventdag_postgres::PgDag::connect(&guard.database.url())
            .await
            .unwrap();
    ok(pg.acknowledge(events[2].id(), false).await);
    let store = reopen(guard.cache_dir.path(), &guard.database.url()).await;
    assert!(store.cache_stats().entries >= 12, "bodies survive a reopen");
    assert!(ok(store.read(events[2].id()).await).is_acknowledged());
    let walked = ok(store.walk_ancestors(events[5].id(), 100).await);
    assert!(walked
        .iter()
        .any(|e| e.id() == events[2].id() && e.is_acknowledged()));
}

const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);
/// Scheduling slack on a loaded two-core machine.
const SLACK: Duration = Duration::from_secs(3);

async fn until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_serves_cached_reads_fails_writes_in_bounded_time_and_recovers() {
    let server = eventdag_postgres::test_support::PrivateCluster::create();
    let dir = tempfile::tempdir().unwrap();
    let options = TieredOptions::new().postgres(
        PgOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(1))
            .operation_timeout(OPERATION_TIMEOUT),
    );
    let store: TieredDag<Value> = TieredDag::open_with(dir.path(), &server.url(), options)
        .await
        .unwrap();
    assert!(store.wait_fresh(Duration::from_secs(10)).await);
    let events = line(&store, DEFAULT_TENANT, 10).await;
    let tip = events.last().unwrap().id();
    ok(store.walk_ancestors(tip, 100).await);
    let chain = ok(store
        .find_correlation_chain(DEFAULT_TENANT, events[0].id())
        .await);
    // Wait until the chain answer is remembered: this node's own append
    // notifications may outdate the first one. A row changed behind the
    // cache's back stays hidden once it is.
    sqlx::query(
        "UPDATE eventdag_events SET payload = '{\"tampered\": true}'::json WHERE event_id = $1",
    )
    .bind(events[5].id())
    .execute(store.postgres().pool())
    .await
    .unwrap();
    let started = Instant::now();
    while ok(store
        .find_correlation_chain(DEFAULT_TENANT, events[0].id())
        .await)
        != chain
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never remembered"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    server.stop("fast");
    until("degraded mode", Duration::from_secs(10), || {
        store.cache_stats().degraded
    })
    .await;

    // Cached reads keep working, exactly as before.
    let started = Instant::now();
    assert_eq!(&ok(store.read(events[3].id()).await), &events[3]);
    let walked = ok(store.walk_ancestors(tip, 100).await);
    assert_eq!(walked, events.iter().rev().cloned().collect::<Vec<_>>());
    assert_eq!(
        ok(store
            .find_correlation_chain(DEFAULT_TENANT, events[0].id())
            .await),
        chain,
        "a remembered chain answer is served too"
    );
    assert!(started.elapsed() < Duration::from_millis(500));

    // Writes and uncached reads fail with an operational error in time.
    let started = Instant::now();
    let refused = store
        .append(eventdag_testkit::support::event(
            DEFAULT_TENANT,
            &[tip],
            eventdag::DagPosition::new(10, 0, 10),
            eventdag::EventKind::DATA,
            eventdag::EventFlags::empty(),
            1,
        ))
        .await;
    assert!(
        matches!(refused, Effect::Err(ref e) if e.is_operational()),
        "{refused:?}"
    );
    assert!(
        started.elapsed() <= OPERATION_TIMEOUT + SLACK,
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let unknown: EventId = uuid::Uuid::now_v7();
    assert!(matches!(store.read(unknown).await, Effect::Err(ref e) if e.is_operational()));
    assert!(started.elapsed() <= OPERATION_TIMEOUT + SLACK);

    server.start();
    assert!(
        store.wait_fresh(Duration::from_secs(20)).await,
        "the store did not recover by itself"
    );
    let next = child(&store, &[&events[9]]).await;
    let walked = ok(store.walk_ancestors(next.id(), 100).await);
    assert_eq!(walked.len(), 11);
    assert!(!store.cache_stats().degraded);
}
