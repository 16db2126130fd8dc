//! 16 connections appending to the same lanes: no duplicate sequence, no
//! lost event, conflicts surface as `SequenceConflict` — also when it is the
//! database's unique constraint that refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use eventdag::{
    DagPosition, DagStore, Effect, ErrorEffect, Event, EventDag, EventFlags, EventHeader, EventId,
    EventKind, DEFAULT_TENANT,
};
use eventdag_postgres::PgOptions;
use serde_json::json;
use uuid::Uuid;

const TASKS: usize = 16;
const APPENDS: usize = 20;
const LANES: u32 = 2;

fn at(position: DagPosition, n: usize) -> Event<serde_json::Value> {
    let header = EventHeader::new(
        Uuid::now_v7(),
        Uuid::nil(),
        0,
        position,
        0,
        EventKind::DATA,
        EventFlags::empty(),
    );
    Event::new(header, json!({ "n": n }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_connections_on_shared_lanes() {
    let (store, _guard) = common::fresh_with(PgOptions::new().max_connections(16)).await;
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let lane = u32::try_from(task).unwrap() % LANES;
            let (mut mine, mut conflicts) = (Vec::new(), 0usize);
            for n in 0..APPENDS {
                loop {
                    let next = match store.next_position(None, lane).await {
                        Effect::Ok(next) => next,
                        other => panic!("{other:?}"),
                    };
                    match store.append(at(next, task * 1000 + n)).await {
                        Effect::Ok(id) => {
                            mine.push(id);
                            break;
                        }
                        Effect::Err(ErrorEffect::SequenceConflict {
                            lane: l,
                            expected,
                            actual,
                            ..
                        }) => {
                            assert_eq!(l, lane);
                            assert_ne!(expected, actual);
                            conflicts += 1;
                        }
                        other => panic!("task {task}: unexpected {other:?}"),
                    }
                }
            }
            (mine, conflicts)
        }));
    }
    let (mut acknowledged, mut conflicts) = (Vec::new(), 0);
    for task in tasks {
        let (mine, seen) = task.await.unwrap();
        acknowledged.extend(mine);
        conflicts += seen;
    }
    assert_eq!(acknowledged.len(), TASKS * APPENDS);
    assert!(
        conflicts > 0,
        "16 racing writers should collide at least once"
    );
    let mut stored: HashSet<EventId> = HashSet::new();
    for lane in 0..LANES {
        let mut sequences = Vec::new();
        let mut after = 0;
        loop {
            let page = match store.events_after(DEFAULT_TENANT, after, 1000).await {
                Effect::Ok(page) => page,
                other => panic!("{other:?}"),
            };
            let Some(last) = page.last() else { break };
            after = last.cursor;
            for item in page {
                if item.event.header.position.lane == lane {
                    sequences.push(item.event.header.position.sequence);
                    stored.insert(item.event.id());
                }
            }
        }
        sequences.sort_unstable();
        let expected: Vec<u32> = (0..u32::try_from(TASKS * APPENDS / 2).unwrap()).collect();
        assert_eq!(
            sequences, expected,
            "lane {lane}: 0..N, no duplicate, no gap"
        );
    }
    assert!(
        acknowledged.iter().all(|id| stored.contains(id)),
        "every Ok append is stored"
    );
}

/// When the lane counter is behind the events (edited by hand), the
/// database's unique (tenant, lane, sequence) constraint still refuses the
/// duplicate, and the refusal is a `SequenceConflict`, not a SQL error.
#[tokio::test]
async fn unique_violation_surfaces_as_sequence_conflict() {
    let (store, _guard) = common::fresh().await;
    let first = at(DagPosition::new(0, 3, 0), 1);
    store.append(first).await.into_result().unwrap();
    sqlx::query("UPDATE eventdag_lanes SET next_sequence = 0 WHERE lane = 3")
        .execute(store.pool())
        .await
        .unwrap();
    let duplicate = at(DagPosition::new(0, 3, 0), 2);
    let error = store
        .append(duplicate.clone())
        .await
        .into_result()
        .unwrap_err();
    assert!(
        matches!(error, ErrorEffect::SequenceConflict { event_id, lane: 3, actual: 0, .. } if event_id == duplicate.id()),
        "{error:?}"
    );
    assert!(
        store.read(duplicate.id()).await.is_err(),
        "nothing half-written"
    );
}
