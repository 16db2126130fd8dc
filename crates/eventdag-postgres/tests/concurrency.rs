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

/// Chain removal and tenant erasure racing appends of children (into the
/// chain and outside it), signals and acknowledgments: nothing deadlocks
/// or fails operationally, and afterwards no row names an event that is
/// gone — no orphan child, edge, id or signal — because removal locks
/// event rows before the tenant's log row, as signals do, and appends
/// find a parent removed after they read it and start again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removal_and_erasure_race_appends_and_signals_without_orphans() {
    use eventdag::{now_micros, ChainRemoval, EventDagExt, Forgetting, NewEvent, UpstreamSignal};
    use eventdag_testkit::support::TENANT_B;
    use rand::Rng;

    const CHAINS: usize = 24;
    let (store, _guard) = common::fresh_with(PgOptions::new().max_connections(12)).await;
    let store = Arc::new(store);
    let old = now_micros() - 86_400 * 1_000_000;
    let mut events: Vec<(EventId, EventId)> = Vec::new(); // (event, chain)
    let mut roots = Vec::new();
    for tenant in [DEFAULT_TENANT, TENANT_B] {
        for _ in 0..CHAINS / 2 {
            let root = store
                .append_new(
                    NewEvent::new(json!({"root": 1}))
                        .tenant(tenant)
                        .timestamp(old),
                )
                .await
                .into_result()
                .unwrap();
            events.push((root.id(), root.id()));
            for n in 0..3 {
                let child = store
                    .append_new(
                        NewEvent::new(json!({ "n": n }))
                            .tenant(tenant)
                            .parents([root.id()])
                            .timestamp(old)
                            .flags(if n == 0 {
                                EventFlags::REQUIRES_ACK
                            } else {
                                EventFlags::empty()
                            }),
                    )
                    .await
                    .into_result()
                    .unwrap();
                events.push((child.id(), root.id()));
            }
            if tenant == DEFAULT_TENANT {
                roots.push(root.id());
            }
        }
    }
    let events = Arc::new(events);
    // Operational errors (a deadlock, a timeout) fail the test; domain
    // answers (not found, cancelled, kept) are the race's possible ends.
    let operational = |what: &str, error: &ErrorEffect| {
        assert!(!error.is_operational(), "{what}: {error}");
    };
    let mut tasks = Vec::new();
    for task in 0..4 {
        let (store, events) = (Arc::clone(&store), Arc::clone(&events));
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let (parent, _) = events[rand::rng().random_range(0..events.len())];
                let Effect::Ok(parent) = store.read(parent).await else {
                    continue;
                };
                let mut draft = NewEvent::new(json!({ "task": task, "i": i }))
                    .tenant(parent.tenant_id)
                    .parents([parent.id()])
                    .timestamp(old);
                if i % 10 == 0 {
                    draft = draft.correlation(Uuid::now_v7());
                }
                if let Effect::Err(error) = store.append_new(draft).await {
                    operational("append", &error);
                }
            }
        }));
    }
    for _ in 0..2 {
        let (store, events) = (Arc::clone(&store), Arc::clone(&events));
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let (event, _) = events[rand::rng().random_range(0..events.len())];
                let result = if i % 2 == 0 {
                    store.acknowledge(event, true).await
                } else {
                    store
                        .signal_upstream(
                            event,
                            UpstreamSignal::Backpressure {
                                until: now_micros() + 1,
                            },
                        )
                        .await
                };
                if let Effect::Err(error) = result {
                    operational("signal", &error);
                }
            }
        }));
    }
    let remover = {
        let store = Arc::clone(&store);
        let roots = roots.clone();
        tokio::spawn(async move {
            let mut removed = Vec::new();
            for _ in 0..3 {
                for root in &roots {
                    match store
                        .remove_chain(DEFAULT_TENANT, *root, now_micros())
                        .await
                    {
                        Effect::Ok(ChainRemoval::Removed { .. }) => removed.push(*root),
                        Effect::Ok(ChainRemoval::Kept { .. }) => {}
                        Effect::Err(error) => operational("remove_chain", &error),
                        other => panic!("remove_chain: {other:?}"),
                    }
                }
            }
            removed
        })
    };
    let eraser = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            match store.erase_tenant(TENANT_B).await {
                Effect::Ok(_) => {}
                Effect::Err(error) => operational("erase_tenant", &error),
                other => panic!("erase_tenant: {other:?}"),
            }
        })
    };
    for task in tasks {
        task.await.unwrap();
    }
    let removed = remover.await.unwrap();
    eraser.await.unwrap();
    assert!(!removed.is_empty(), "some chains went");
    for root in &removed {
        let chain = store.find_correlation_chain(DEFAULT_TENANT, *root).await;
        assert!(chain.into_result().unwrap().is_empty());
    }
    for (what, sql) in [
        (
            "children of missing parents",
            "SELECT count(*) FROM eventdag_events e, unnest(e.parents) p \
             WHERE NOT EXISTS (SELECT 1 FROM eventdag_events x WHERE x.event_id = p)",
        ),
        (
            "edges with a missing end",
            "SELECT count(*) FROM eventdag_edges d WHERE NOT EXISTS \
             (SELECT 1 FROM eventdag_events x WHERE x.event_id = d.parent_id) OR NOT EXISTS \
             (SELECT 1 FROM eventdag_events x WHERE x.event_id = d.child_id)",
        ),
        (
            "directory rows without an event",
            "SELECT count(*) FROM eventdag_event_ids i WHERE NOT EXISTS \
             (SELECT 1 FROM eventdag_events x WHERE x.event_id = i.event_id)",
        ),
        (
            "events without a directory row",
            "SELECT count(*) FROM eventdag_events e WHERE NOT EXISTS \
             (SELECT 1 FROM eventdag_event_ids i WHERE i.event_id = e.event_id)",
        ),
        (
            "deliveries of a missing signal",
            "SELECT count(*) FROM eventdag_signal_deliveries d WHERE NOT EXISTS \
             (SELECT 1 FROM eventdag_signals s \
              WHERE s.tenant_id = d.tenant_id AND s.sequence = d.sequence)",
        ),
        (
            "deliveries to a missing event",
            "SELECT count(*) FROM eventdag_signal_deliveries d WHERE NOT EXISTS \
             (SELECT 1 FROM eventdag_events x WHERE x.event_id = d.event_id)",
        ),
        (
            "signals from a missing event",
            "SELECT count(*) FROM eventdag_signals s WHERE NOT EXISTS \
             (SELECT 1 FROM eventdag_events x WHERE x.event_id = s.from_id)",
        ),
    ] {
        let (count,): (i64,) = sqlx::query_as(sql).fetch_one(store.pool()).await.unwrap();
        assert_eq!(count, 0, "{what}");
    }
}
