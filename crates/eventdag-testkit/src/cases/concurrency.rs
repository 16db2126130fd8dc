//! Many writers racing for one lane (SPEC §5).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use eventdag::{
    DagPosition, Effect, ErrorEffect, Event, EventFlags, EventId, EventKind, DEFAULT_TENANT,
};

use crate::support::{assigned, assigned_batch, event, ids, ok, root, Store};

/// Writers per race.
pub const WRITERS: usize = 8;
/// Appends each writer makes.
pub const APPENDS_PER_WRITER: usize = 25;

/// 8 tasks append to one lane through `next_position` + retry on
/// conflict: afterwards no sequence is duplicated or skipped and every
/// acknowledged append is there.
pub async fn concurrent_appends_to_one_lane<S: Store>(store: Arc<S>) {
    let start = root(&*store, DEFAULT_TENANT).await;
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        let parent = start.id();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut conflicts = 0u32;
            for n in 0..APPENDS_PER_WRITER {
                loop {
                    let next: DagPosition = ok(store.next_position(Some(parent), 0).await);
                    let new = event(
                        DEFAULT_TENANT,
                        &[parent],
                        next,
                        EventKind::DATA,
                        EventFlags::empty(),
                        (writer * 1000 + n) as u64,
                    );
                    match store.append(new).await {
                        Effect::Ok(id) => {
                            mine.push(id);
                            break;
                        }
                        Effect::Err(ErrorEffect::SequenceConflict { .. }) => conflicts += 1,
                        other => panic!("writer {writer}: unexpected {other:?}"),
                    }
                }
            }
            (mine, conflicts)
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        let (mine, _conflicts) = task.await.expect("writer task panicked");
        acknowledged.extend(mine);
    }
    assert_race_left_lane_whole(&*store, start.id(), &acknowledged).await;
}

/// 8 tasks append to one lane through `append_assigned`: the store assigns
/// every sequence inside its transaction, so nobody ever conflicts and the
/// lane ends up gap-free.
pub async fn concurrent_assigned_appends_never_conflict<S: Store>(store: Arc<S>) {
    let start = root(&*store, DEFAULT_TENANT).await;
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        let parent = start.id();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0..APPENDS_PER_WRITER {
                let new = event(
                    DEFAULT_TENANT,
                    &[parent],
                    DagPosition::new(0, 0, 0),
                    EventKind::DATA,
                    EventFlags::empty(),
                    (writer * 1000 + n) as u64,
                );
                mine.push(ok(assigned(&*store, new).await));
            }
            mine
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("writer task panicked"));
    }
    let chain = assert_race_left_lane_whole(&*store, start.id(), &acknowledged).await;
    assert!(chain.iter().skip(1).all(|e| e.header.position.depth == 1));
}

/// 8 tasks append batches of 5 to one lane through
/// `append_assigned_batch`: no batch ever conflicts, each batch's events
/// take consecutive sequences, and the lane ends up gap-free.
pub async fn concurrent_assigned_batches_never_conflict<S: Store>(store: Arc<S>) {
    const BATCH: usize = 5;
    let start = root(&*store, DEFAULT_TENANT).await;
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        let parent = start.id();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for round in 0..APPENDS_PER_WRITER / BATCH {
                let batch: Vec<_> = (0..BATCH)
                    .map(|n| {
                        event(
                            DEFAULT_TENANT,
                            &[parent],
                            DagPosition::new(0, 0, 0),
                            EventKind::DATA,
                            EventFlags::empty(),
                            (writer * 1000 + round * BATCH + n) as u64,
                        )
                    })
                    .collect();
                mine.push(ok(assigned_batch(&*store, batch).await));
            }
            mine
        }));
    }
    let mut batches: Vec<Vec<EventId>> = Vec::new();
    for task in tasks {
        batches.extend(task.await.expect("writer task panicked"));
    }
    let acknowledged: Vec<EventId> = batches.iter().flatten().copied().collect();
    let chain = assert_race_left_lane_whole(&*store, start.id(), &acknowledged).await;
    let sequence_of: HashMap<_, _> = chain
        .iter()
        .map(|e| (e.id(), e.header.position.sequence))
        .collect();
    for batch in &batches {
        let sequences: Vec<u32> = batch.iter().map(|id| sequence_of[id]).collect();
        let first = sequences[0];
        assert_eq!(
            sequences,
            (first..first + u32::try_from(BATCH).unwrap()).collect::<Vec<_>>(),
            "one batch takes consecutive sequences"
        );
    }
}

/// After a race under `start` on lane 0: every acknowledged append is in
/// the chain and nothing else is, and the lane's sequences are `0..=N`
/// with no duplicate and no gap. Returns the chain.
async fn assert_race_left_lane_whole<S: Store>(
    store: &S,
    start: EventId,
    acknowledged: &[EventId],
) -> Vec<Event<serde_json::Value>> {
    let chain = ok(store.find_correlation_chain(DEFAULT_TENANT, start).await);
    assert_eq!(chain.len(), acknowledged.len() + 1);
    let mut sequences: Vec<u32> = chain.iter().map(|e| e.header.position.sequence).collect();
    sequences.sort_unstable();
    let expected: Vec<u32> = (0..=u32::try_from(acknowledged.len()).unwrap()).collect();
    assert_eq!(
        sequences, expected,
        "sequences are 0..=N with no duplicate and no gap"
    );
    let stored: HashSet<_> = ids(&chain).into_iter().collect();
    assert!(
        acknowledged.iter().all(|id| stored.contains(id)),
        "every Ok append is stored"
    );
    chain
}
