//! The cache at work on one node: hot reads and walks come from LMDB and
//! equal PostgreSQL's answers, flags changed anywhere reach the cache
//! within the staleness bound, and eviction keeps the cache in budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use eventdag::{
    DagStore, EventDag, EventDagExt, EventFlags, EventId, NewEvent, UpstreamSignal, DEFAULT_TENANT,
};
use eventdag_postgres::{PgDag, PgOptions};
use eventdag_testkit::support::{child, line, ok, put};
use eventdag_tiered::TieredDag;
use serde_json::{json, Value};

use common::{fresh, fresh_with, test_options, Guard};

/// Another node on the same database: a plain `PgDag`.
async fn other_node(guard: &Guard) -> PgDag<Value> {
    PgDag::connect_with(&guard.database.url(), PgOptions::new().max_connections(2))
        .await
        .unwrap()
}

/// Rewrites a payload in PostgreSQL behind the cache's back: a read that
/// still sees the original was served from the cache.
async fn tamper(store: &TieredDag<Value>, id: EventId) {
    sqlx::query(
        "UPDATE eventdag_events SET payload = '{\"tampered\": true}'::json WHERE event_id = $1",
    )
    .bind(id)
    .execute(store.postgres().pool())
    .await
    .unwrap();
}

async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reads_and_walks_come_from_the_cache_and_equal_postgres() {
    let (store, guard) = fresh().await;
    let events = line(&store, DEFAULT_TENANT, 30).await;
    let tip = events.last().unwrap().id();
    let pg = other_node(&guard).await;

    let from_pg = ok(pg.walk_ancestors(tip, 1000).await);
    let first = ok(store.walk_ancestors(tip, 1000).await);
    assert_eq!(first, from_pg, "a cold walk is PostgreSQL's answer");
    assert!(store.cache_stats().entries >= 30);

    // Behind the cache's back: the cached bodies are still served, so the
    // answers below came from LMDB — and equal what PostgreSQL said.
    for event in &events {
        tamper(&store, event.id()).await;
    }
    assert_eq!(ok(store.walk_ancestors(tip, 1000).await), from_pg);
    assert_eq!(
        ok(store.walk_ancestors(tip, 7).await),
        from_pg[..7].to_vec()
    );
    assert_eq!(ok(store.read(events[3].id()).await), events[3]);
    assert_eq!(
        ok(pg.read(events[3].id()).await).payload,
        json!({"tampered": true})
    );

    // Descendants are not known to the cache until asked once: this one
    // is PostgreSQL's answer (tampered payloads).
    let descendants = ok(store.walk_descendants(events[0].id(), 1000).await);
    assert_eq!(descendants.len(), 30);
    assert_eq!(descendants[5].payload, json!({"tampered": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_descendants_and_chains_come_from_the_cache_until_an_append() {
    let (store, guard) = fresh().await;
    let events = line(&store, DEFAULT_TENANT, 10).await;
    let root = events[0].id();
    let pg = other_node(&guard).await;
    let descendants = ok(store.walk_descendants(root, 1000).await);
    let chain = ok(store.find_correlation_chain(DEFAULT_TENANT, root).await);
    assert_eq!(descendants, ok(pg.walk_descendants(root, 1000).await));
    assert_eq!(
        chain,
        ok(pg.find_correlation_chain(DEFAULT_TENANT, root).await)
    );

    // Behind the cache's back: answers that still show the original
    // bodies were served from the cache, and equal PostgreSQL's earlier
    // answers, for any limit. This node's own notifications of the
    // appends above may arrive after the first answers were read and
    // outdate them once (the next read from PostgreSQL is remembered
    // again), so ask until all three come from the cache together.
    for event in &events {
        tamper(&store, event.id()).await;
    }
    let from_cache = wait_until(Duration::from_secs(5), || async {
        ok(store.walk_descendants(root, 1000).await) == descendants
            && ok(store.walk_descendants(root, 4).await) == descendants[..4]
            && ok(store.find_correlation_chain(DEFAULT_TENANT, root).await) == chain
    })
    .await;
    assert!(
        from_cache.is_some(),
        "the answers were never served from the cache"
    );

    // This node appends: the next answers include it at once.
    let mine = child(&store, &[events.last().unwrap()]).await;
    let after = ok(store.walk_descendants(root, 1000).await);
    assert_eq!(after.len(), 11);
    assert_eq!(after.last().unwrap().id(), mine.id());
    let chain = ok(store.find_correlation_chain(DEFAULT_TENANT, root).await);
    assert_eq!(chain.last().unwrap().id(), mine.id());

    // Another node appends: heard through its notification, within the
    // bound.
    let theirs = child(&pg, &[&mine]).await;
    let committed = Instant::now();
    let bound = store.options().get_staleness_bound();
    let seen = wait_until(bound * 2, || async {
        let walked = ok(store.walk_descendants(root, 1000).await);
        let chain = ok(store.find_correlation_chain(DEFAULT_TENANT, root).await);
        walked.iter().any(|e| e.id() == theirs.id()) && chain.iter().any(|e| e.id() == theirs.id())
    })
    .await
    .expect("the other node's append never reached the answers");
    assert!(committed.elapsed() >= seen);
    assert!(seen <= bound, "stale for {seen:?}, bound {bound:?}");
    assert_eq!(ok(store.walk_descendants(root, 1000).await).len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_cached_walk_falls_back_to_postgres_with_the_same_answer() {
    let (store, guard) = fresh().await;
    let events = line(&store, DEFAULT_TENANT, 20).await;
    let tip = events.last().unwrap().id();
    // Only the tip and a few others are cached (read by id).
    for event in events.iter().skip(15) {
        ok(store.read(event.id()).await);
    }
    let pg = other_node(&guard).await;
    assert_eq!(
        ok(store.walk_ancestors(tip, 1000).await),
        ok(pg.walk_ancestors(tip, 1000).await)
    );
    // A limit the cached part covers is answered from it.
    tamper(&store, events[18].id()).await;
    let short = ok(store.walk_ancestors(tip, 3).await);
    assert_eq!(
        short,
        events[17..20].iter().rev().cloned().collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_set_on_this_node_or_another_reach_the_cache_within_the_bound() {
    let (store, guard) = fresh().await;
    let root = put(
        &store,
        DEFAULT_TENANT,
        &[],
        0,
        eventdag::EventKind::DATA,
        EventFlags::REQUIRES_ACK,
    )
    .await;
    let child = put(
        &store,
        DEFAULT_TENANT,
        &[&root],
        0,
        eventdag::EventKind::DATA,
        EventFlags::REQUIRES_ACK,
    )
    .await;
    ok(store.walk_ancestors(child.id(), 10).await);

    // This node: visible at once.
    ok(store.acknowledge(child.id(), false).await);
    assert!(ok(store.read(child.id()).await).is_acknowledged());

    // Another node (a plain PgDag on the same database): through the
    // notification, within the bound.
    let pg = other_node(&guard).await;
    let bound = store.options().get_staleness_bound();
    ok(pg.acknowledge(root.id(), false).await);
    let committed = Instant::now();
    let seen = wait_until(bound * 2, || async {
        ok(store.read(root.id()).await).is_acknowledged()
    })
    .await
    .expect("the acknowledgment never reached the cache");
    assert!(committed.elapsed() >= seen);
    assert!(seen <= bound, "stale for {seen:?}, bound {bound:?}");

    ok(pg
        .signal_upstream(
            child.id(),
            UpstreamSignal::CompensationComplete {
                event_id: root.id(),
            },
        )
        .await);
    let seen = wait_until(bound * 2, || async {
        ok(store.read(root.id()).await)
            .header
            .flags
            .contains(EventFlags::COMPENSATED)
    })
    .await
    .expect("the compensation never reached the cache");
    assert!(seen <= bound, "stale for {seen:?}, bound {bound:?}");
    // The first read that saw it may have come from PostgreSQL (a loaded
    // machine lets the proof lapse for a moment); only after the bound is
    // every read, from either tier, sure to show it.
    tokio::time::sleep(bound).await;
    assert_eq!(
        ok(store.read(root.id()).await),
        ok(pg.read(root.id()).await)
    );
    assert_eq!(ok(store.unacknowledged(10).await), Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_keeps_the_cache_within_its_budget_under_a_long_load() {
    let budget: u64 = 48 * 1024;
    let options = test_options()
        .max_cache_bytes(budget)
        .eviction_interval(Duration::from_millis(20));
    let (store, _guard) = fresh_with(options).await;
    let mut peak = 0;
    let mut all = Vec::new();
    for round in 0..8 {
        let events = line(&store, eventdag_testkit::support::TENANT_B, 1).await;
        let mut batch = events.clone();
        for _ in 0..60 {
            let last = batch.last().unwrap().clone();
            batch.push(eventdag_testkit::support::child(&store, &[&last]).await);
        }
        ok(store.walk_ancestors(batch.last().unwrap().id(), 1000).await);
        tokio::time::sleep(Duration::from_millis(60)).await;
        let stats = store.cache_stats();
        peak = peak.max(stats.bytes);
        assert!(
            stats.bytes <= budget + 32 * 1024,
            "round {round}: {} bytes cached, budget {budget}",
            stats.bytes
        );
        all.extend(batch);
    }
    store.evict_now();
    let stats = store.cache_stats();
    assert!(
        stats.bytes <= budget,
        "{} bytes after eviction",
        stats.bytes
    );
    assert!(
        stats.entries < all.len() as u64 / 2,
        "{} of {} cached",
        stats.entries,
        all.len()
    );
    assert!(
        peak > budget / 2,
        "the load never filled the cache ({peak} bytes)"
    );
    // Evicted events are read back from PostgreSQL.
    for event in all.iter().step_by(25) {
        assert_eq!(&ok(store.read(event.id()).await), event);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_by_age_empties_an_idle_cache() {
    let options = test_options().max_age(Duration::from_millis(200));
    let (store, _guard) = fresh_with(options).await;
    let events = line(&store, DEFAULT_TENANT, 10).await;
    ok(store.walk_ancestors(events.last().unwrap().id(), 100).await);
    assert!(store.cache_stats().entries >= 10);
    tokio::time::sleep(Duration::from_millis(300)).await;
    store.evict_now();
    assert_eq!(store.cache_stats().entries, 0);
    assert_eq!(store.cache_stats().bytes, 0);
    assert_eq!(ok(store.read(events[4].id()).await), events[4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_and_appends_fill_the_cache_after_the_commit() {
    let (store, guard) = fresh().await;
    let pg = other_node(&guard).await;
    let before = store.cache_stats().entries;
    // Single appends (`line` uses `append_child`, store-assigned
    // positions) and one batch: each call returns with its events cached,
    // exactly as PostgreSQL stored them (timestamps, correlation ids,
    // positions and hashes filled in by the store).
    let events = line(&store, DEFAULT_TENANT, 5).await;
    assert_eq!(store.cache_stats().entries, before + 5);
    let drafts = (0..3).map(|n| NewEvent::new(json!({"n": n})).parents([events[4].id()]));
    let batch = ok(store.append_new_batch(drafts.collect()).await);
    assert_eq!(store.cache_stats().entries, before + 8);
    for id in events.iter().chain(batch.iter()).map(|e| e.id()) {
        let stored = ok(pg.read(id).await);
        tamper(&store, id).await;
        assert_eq!(ok(store.read(id).await), stored, "served from the cache");
    }
    let tip = events.last().unwrap().id();
    let stored = ok(store.stored_record(tip).await);
    assert_eq!(
        stored.payload_bytes,
        serde_json::to_vec(&json!({"tampered": true})).unwrap()
    );
}

/// What another node forgets while this one is down is applied to its
/// cache when it opens again: the follower goes on from the change-log
/// position the previous run stored, so the redacted entry goes and the
/// other stays (a cache without a stored position would be wiped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_while_a_node_is_down_is_applied_when_it_opens_again() {
    use eventdag::Forgetting;

    let (store, guard) = fresh().await;
    let kept = ok(store.append_new(NewEvent::new(json!({"k": 1}))).await);
    let secret = ok(store
        .append_new(NewEvent::new(json!({"email": "ada@example.com"})))
        .await);
    assert_eq!(store.cache_stats().entries, 2, "appends fill the cache");
    drop(store);
    let pg = other_node(&guard).await;
    ok(pg
        .redact(DEFAULT_TENANT, secret.id(), "erasure request".into())
        .await);
    let again: TieredDag<Value> = TieredDag::open_with(
        guard.cache_dir.path(),
        &guard.database.url(),
        test_options(),
    )
    .await
    .unwrap();
    assert!(again.wait_fresh(Duration::from_secs(10)).await);
    assert_eq!(
        again.cache_stats().entries,
        1,
        "the redacted entry went, the other stayed"
    );
    let read = ok(again.read(secret.id()).await);
    assert!(read.is_redacted() && read.payload == Value::Null);
    assert_eq!(ok(again.read(kept.id()).await), kept);
}
