//! The commit-ordered cursor: 8 writers and 3 tailing readers over 100,000
//! events of one tenant. Writers commit in an order unrelated to when they
//! started; readers that poll `events_after(last cursor seen)` must still
//! see every event exactly once, with no gap in the cursors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventdag::EventDagExt;
use eventdag::{
    DagPosition, DagStore, Effect, Event, EventFlags, EventHeader, EventId, EventKind, TenantId,
};
use eventdag_postgres::PgOptions;
use serde_json::json;
use uuid::Uuid;

const WRITERS: u32 = 8;
const READERS: usize = 3;
const TOTAL: u32 = 100_000;
const BATCH: u32 = 500;
const TENANT: TenantId = Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0001);

fn root_on(lane: u32, sequence: u32) -> Event<serde_json::Value> {
    let header = EventHeader::new(
        Uuid::now_v7(),
        Uuid::nil(),
        0,
        DagPosition::new(0, lane, sequence),
        0,
        EventKind::DATA,
        EventFlags::empty(),
    );
    Event::new(header, json!({"lane": lane, "n": sequence})).with_tenant(TENANT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tailing_readers_never_skip_or_repeat_late_commits() {
    let (store, _guard) = common::fresh_with(PgOptions::new().max_connections(12)).await;
    let store = Arc::new(store);
    let started = Instant::now();
    let per_writer = TOTAL / WRITERS;
    let mut writers = Vec::new();
    for lane in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(per_writer as usize);
            let mut sequence = 0;
            while sequence < per_writer {
                let batch: Vec<_> = (sequence..(sequence + BATCH).min(per_writer))
                    .map(|n| root_on(lane, n))
                    .collect();
                let count = u32::try_from(batch.len()).unwrap();
                match store.append_batch(batch).await {
                    Effect::Ok(stored) => ids.extend(stored),
                    other => panic!("writer {lane}: {other:?}"),
                }
                sequence += count;
            }
            ids
        }));
    }
    let mut readers = Vec::new();
    for reader in 0..READERS {
        let store = Arc::clone(&store);
        readers.push(tokio::spawn(async move {
            let mut seen: Vec<EventId> = Vec::with_capacity(TOTAL as usize);
            let mut last = 0u64;
            let mut gaps = 0usize;
            let deadline = Instant::now() + Duration::from_secs(120);
            while seen.len() < TOTAL as usize {
                assert!(
                    Instant::now() < deadline,
                    "reader {reader} stalled at {}",
                    seen.len()
                );
                let page = match store.events_after(TENANT, last, 10_000).await {
                    Effect::Ok(page) => page,
                    other => panic!("reader {reader}: {other:?}"),
                };
                if page.is_empty() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                for item in page {
                    if item.cursor != last + 1 {
                        gaps += 1;
                    }
                    assert!(item.cursor > last, "cursor went back");
                    last = item.cursor;
                    seen.push(item.event.id());
                }
            }
            (seen, gaps)
        }));
    }
    let mut written = HashSet::new();
    for writer in writers {
        written.extend(writer.await.unwrap());
    }
    assert_eq!(written.len(), TOTAL as usize);
    for reader in readers {
        let (seen, gaps) = reader.await.unwrap();
        let distinct: HashSet<EventId> = seen.iter().copied().collect();
        let duplicated = seen.len() - distinct.len();
        let skipped = written.difference(&distinct).count();
        assert_eq!(
            (skipped, duplicated, gaps),
            (0, 0, 0),
            "skipped, duplicated, cursor gaps"
        );
        assert_eq!(seen.len(), TOTAL as usize);
    }
    eprintln!(
        "100,000 events, 8 writers, 3 readers: {:?}",
        started.elapsed()
    );
}
