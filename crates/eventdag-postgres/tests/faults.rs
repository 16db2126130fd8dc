//! Faults against a private PostgreSQL instance this test starts and stops
//! itself (initdb/pg_ctl as the `postgres` user, in a temporary directory,
//! on a free port): while appends run, the server is killed (`immediate`)
//! and later stopped cleanly (`fast`). Calls must fail with an operational
//! error within the configured bound, the store must recover by itself,
//! every `Ok` event must be there, and nothing may be half-written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventdag::EventDagExt;
use eventdag::{
    DagPosition, DagStore, Effect, Event, EventDag, EventFlags, EventHeader, EventId, EventKind,
    DEFAULT_TENANT,
};
use eventdag_postgres::test_support::PrivateCluster;
use eventdag_postgres::{PgDag, PgOptions};
use serde_json::{json, Value};
use uuid::Uuid;

const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);
/// Scheduling slack on a loaded two-core machine.
const SLACK: Duration = Duration::from_secs(2);

/// Events per append on lane 1 (lane 0 appends one at a time), so that
/// the stops also cut multi-row transactions.
const BATCH: u32 = 50;

fn root_at(lane: u32, sequence: u32) -> Event<Value> {
    let header = EventHeader::new(
        Uuid::now_v7(),
        Uuid::nil(),
        0,
        DagPosition::new(0, lane, sequence),
        0,
        EventKind::DATA,
        EventFlags::empty(),
    );
    Event::new(header, json!({ "n": sequence }))
}

#[derive(Default)]
struct Tally {
    ok: Vec<EventId>,
    errors: usize,
    slowest_error: Duration,
}

/// Appends one event after another until told to stop, recording what
/// each call returned and how long failures took.
async fn append_until(
    store: PgDag<Value>,
    lane: u32,
    stop: Arc<AtomicBool>,
    oks: Arc<AtomicUsize>,
    tally: Arc<Mutex<Tally>>,
) {
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let outcome = match store.next_position(None, lane).await {
            Effect::Ok(next) if lane == 0 => store
                .append(root_at(lane, next.sequence))
                .await
                .map(|id| vec![id]),
            Effect::Ok(next) => {
                let batch = (next.sequence..next.sequence + BATCH)
                    .map(|s| root_at(lane, s))
                    .collect();
                store.append_batch(batch).await
            }
            Effect::Err(error) => Effect::Err(error),
            other => panic!("next_position: {other:?}"),
        };
        let took = started.elapsed();
        match outcome {
            Effect::Ok(ids) => {
                tally.lock().unwrap().ok.extend(ids);
                if lane == 0 {
                    oks.fetch_add(1, Ordering::Relaxed);
                }
            }
            Effect::Err(error) => {
                assert!(
                    error.is_operational(),
                    "a fault must be operational: {error:?}"
                );
                {
                    let mut tally = tally.lock().unwrap();
                    tally.errors += 1;
                    tally.slowest_error = tally.slowest_error.max(took);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("append: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_for_progress(oks: &AtomicUsize, from: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while oks.load(Ordering::Relaxed) < from + 5 {
        assert!(
            Instant::now() < deadline,
            "store did not recover after {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_stopped_and_restarted_mid_appends() {
    let pg = PrivateCluster::create();
    let options = PgOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(1))
        .statement_timeout(Duration::from_secs(2))
        .operation_timeout(OPERATION_TIMEOUT);
    let store: PgDag<Value> = PgDag::connect_with(&pg.url(), options).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let oks = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let appenders: Vec<_> = (0..2)
        .map(|lane| {
            tokio::spawn(append_until(
                store.clone(),
                lane,
                Arc::clone(&stop),
                Arc::clone(&oks),
                Arc::clone(&tally),
            ))
        })
        .collect();

    wait_for_progress(&oks, 0, "start").await;
    for mode in ["immediate", "fast"] {
        tokio::task::block_in_place(|| pg.stop(mode));
        let down = Instant::now();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let health_started = Instant::now();
        let health = store.check_health().await;
        assert!(
            matches!(&health, Effect::Err(error) if error.is_operational()),
            "health while down: {health:?}"
        );
        assert!(health_started.elapsed() < OPERATION_TIMEOUT + SLACK);
        let before = oks.load(Ordering::Relaxed);
        tokio::task::block_in_place(|| pg.start());
        wait_for_progress(&oks, before, mode).await;
        eprintln!(
            "{mode} stop: back to appending {:?} after the stop",
            down.elapsed()
        );
    }
    stop.store(true, Ordering::Relaxed);
    for appender in appenders {
        appender.await.unwrap();
    }

    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    assert!(
        tally.errors > 0,
        "appends while the server was down must fail"
    );
    assert!(
        tally.slowest_error < OPERATION_TIMEOUT + SLACK,
        "a failing call took {:?}, bound {OPERATION_TIMEOUT:?}",
        tally.slowest_error
    );
    for id in &tally.ok {
        store
            .read(*id)
            .await
            .into_result()
            .unwrap_or_else(|e| panic!("Ok event {id} lost: {e}"));
    }
    // Nothing half-written: the lane is 0..n without gaps, every event has
    // its directory row, and the counters agree with the rows.
    let stored = store
        .events_after(DEFAULT_TENANT, 0, 10_000)
        .await
        .into_result()
        .unwrap();
    assert!(stored.len() >= tally.ok.len());
    let cursors: Vec<u64> = stored.iter().map(|c| c.cursor).collect();
    assert_eq!(
        cursors,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "cursors dense"
    );
    let mut lanes = [0i64; 2];
    for lane in 0..2u32 {
        let mut sequences: Vec<u32> = stored
            .iter()
            .filter(|c| c.event.header.position.lane == lane)
            .map(|c| c.event.header.position.sequence)
            .collect();
        sequences.sort_unstable();
        let n = u32::try_from(sequences.len()).unwrap();
        assert_eq!(sequences, (0..n).collect::<Vec<_>>(), "lane {lane}");
        if lane == 1 {
            assert_eq!(n % BATCH, 0, "batches are all or nothing");
        }
        lanes[lane as usize] = i64::from(n);
    }
    let n = i64::try_from(stored.len()).unwrap();
    let (events, ids, next0, next1, last): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM eventdag_events), (SELECT count(*) FROM eventdag_event_ids), \
                (SELECT next_sequence FROM eventdag_lanes WHERE lane = 0), \
                (SELECT next_sequence FROM eventdag_lanes WHERE lane = 1), \
                (SELECT last_event_cursor FROM eventdag_tenant_logs)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        (events, ids, next0, next1, last),
        (n, n, lanes[0], lanes[1], n)
    );
    eprintln!(
        "{} appends Ok, {} failed (slowest failure {:?}), {} stored",
        tally.ok.len(),
        tally.errors,
        tally.slowest_error,
        n
    );
}
