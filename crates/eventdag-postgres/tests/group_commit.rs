//! Group commit: concurrent appends share transactions, and an append the
//! rules refuse refuses only itself — its neighbours in the group commit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use eventdag::{DagStore, EventDag, EventDagExt, NewEvent, DEFAULT_TENANT};
use serde_json::json;

/// How many transactions inserted `events`: each row's `xmin` is the id
/// of the transaction that inserted it.
async fn inserting_transactions(
    store: &eventdag_postgres::PgDag<serde_json::Value>,
    events: &[eventdag::Event<serde_json::Value>],
) -> i64 {
    let ids: Vec<uuid::Uuid> = events.iter().map(|event| event.id()).collect();
    let (transactions,): (i64,) = sqlx::query_as(
        "SELECT count(DISTINCT xmin::text) FROM eventdag_events WHERE event_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_one(store.pool())
    .await
    .unwrap();
    transactions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_appends_refuse_only_themselves_and_groups_share_commits() {
    let (store, _guard) =
        common::fresh_with(eventdag_postgres::PgOptions::new().max_connections(4)).await;
    let store = Arc::new(store);
    let root = store
        .append_new(NewEvent::new(json!("root")))
        .await
        .into_result()
        .unwrap();
    const APPENDS: usize = 64;
    let tasks: Vec<_> = (0..APPENDS)
        .map(|n| {
            let store = Arc::clone(&store);
            let parent = root.id();
            tokio::spawn(async move {
                let draft = if n % 4 == 3 {
                    // A parent that does not exist: refused by the rules.
                    NewEvent::new(json!({"n": n})).parents([eventdag::new_event_id()])
                } else {
                    NewEvent::new(json!({"n": n})).parents([parent])
                };
                store.append_new(draft).await
            })
        })
        .collect();
    let mut stored = Vec::new();
    let mut refused = 0;
    for (n, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            eventdag::Effect::Ok(event) => {
                assert_ne!(n % 4, 3, "append {n} should have been refused");
                stored.push(event);
            }
            eventdag::Effect::Err(error) => {
                assert_eq!(n % 4, 3, "append {n} failed: {error}");
                assert!(error.to_string().contains("parent"), "{error}");
                refused += 1;
            }
            other => panic!("append {n}: {other:?}"),
        }
    }
    assert_eq!(refused, APPENDS / 4);
    assert_eq!(stored.len(), APPENDS * 3 / 4);
    // Every acknowledged append is stored, each once, in its own sequence.
    let chain = store
        .find_correlation_chain(DEFAULT_TENANT, root.id())
        .await
        .into_result()
        .unwrap();
    assert_eq!(chain.len(), 1 + stored.len());
    let mut sequences: Vec<u32> = chain.iter().map(|e| e.position().sequence).collect();
    sequences.sort_unstable();
    sequences.dedup();
    assert_eq!(sequences.len(), chain.len(), "no sequence is taken twice");
    for event in &stored {
        let read = store.read(event.id()).await.into_result().unwrap();
        assert_eq!(&read, event);
    }
    let cursor = store
        .events_after(DEFAULT_TENANT, 0, 1000)
        .await
        .into_result()
        .unwrap();
    let cursors: Vec<u64> = cursor.iter().map(|entry| entry.cursor).collect();
    let expected: Vec<u64> = (1..=u64::try_from(chain.len()).unwrap()).collect();
    assert_eq!(cursors, expected, "the tenant's cursor has no gap");
    let transactions = inserting_transactions(&store, &stored).await;
    println!(
        "{} appends committed in {transactions} transactions",
        stored.len()
    );
    assert!(
        transactions < i64::try_from(stored.len()).unwrap(),
        "{} appends took {transactions} transactions: no group was formed",
        stored.len()
    );
}
