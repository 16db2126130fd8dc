//! The durable change log (migration 0004): every append and flag change
//! is in it, written by the change's own transaction; a reader never
//! reads past a transaction still running; pruning tells readers that
//! fell behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use eventdag::{
    DagStore, EventDag, EventDagExt, EventFlags, EventKind, NewEvent, UpstreamSignal,
    DEFAULT_TENANT,
};
use eventdag_postgres::{ChangePage, LoggedChange, PgDag};
use eventdag_testkit::support::{ok, TENANT_B};
use serde_json::{json, Value};
use sqlx::Connection;

async fn page(store: &PgDag<Value>, position: u64) -> ChangePage {
    ok(store.changes_after(position, 1_000).await)
}

/// Reads on from `position` until `done` holds for everything read and
/// the last page: transactions of other databases on the same server
/// (other tests) hold the horizon back for moments. Gives up after 10 s.
async fn read_until(
    store: &PgDag<Value>,
    mut position: u64,
    done: impl Fn(&[LoggedChange], &ChangePage) -> bool,
) -> (Vec<LoggedChange>, ChangePage) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut read = Vec::new();
    loop {
        let last = page(store, position).await;
        read.extend(last.changes.iter().copied());
        position = last.next;
        if done(&read, &last) {
            return (read, last);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the change log never showed what was expected; read {read:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_and_flag_changes_are_logged_once_each() {
    let (store, guard) = common::fresh().await;
    let head = ok(store.change_log_head().await);
    // One write, two tenants: one row per tenant.
    let batch = ok(store
        .append_events(vec![
            NewEvent::new(json!(1)).flags(EventFlags::REQUIRES_ACK),
            NewEvent::new(json!(2)).tenant(TENANT_B),
        ])
        .await);
    let job = &batch[0];
    let child = ok(store
        .append_new(NewEvent::new(json!(3)).parents([job.id()]))
        .await);
    ok(store.acknowledge(job.id(), false).await);
    ok(store.acknowledge(job.id(), false).await); // idempotent: no second row
    ok(store
        .signal_upstream(
            child.id(),
            UpstreamSignal::CompensationComplete { event_id: job.id() },
        )
        .await);

    let (changes, last) = read_until(&store, head, |read, _| read.len() >= 5).await;
    assert!(!last.missed);
    let appended: Vec<_> = changes
        .iter()
        .filter_map(|change| match change {
            LoggedChange::Appended { tenant_id, .. } => Some(*tenant_id),
            LoggedChange::FlagsAdded { .. } => None,
        })
        .collect();
    assert_eq!(appended.len(), 3, "{changes:?}");
    assert_eq!(
        appended.iter().filter(|t| **t == TENANT_B).count(),
        1,
        "one row per tenant of the batch"
    );
    let flags: Vec<_> = changes
        .iter()
        .filter_map(|change| match change {
            LoggedChange::FlagsAdded {
                event_id, flags, ..
            } => Some((*event_id, *flags)),
            LoggedChange::Appended { .. } => None,
        })
        .collect();
    assert_eq!(
        flags,
        vec![
            (job.id(), EventFlags::ACKNOWLEDGED),
            (job.id(), EventFlags::COMPENSATED)
        ]
    );
    // Read on from where the page ended: nothing again.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let again = page(&store, last.next).await;
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_transaction_holds_readers_back_until_it_ends() {
    let (store, guard) = common::fresh().await;
    let job = ok(store
        .append_new(NewEvent::new(json!(1)).flags(EventFlags::REQUIRES_ACK))
        .await);
    let start = page(&store, ok(store.change_log_head().await)).await.next;

    // Another session's transaction with an id, left open.
    let mut open = sqlx::PgConnection::connect(&guard.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut open).await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut open)
        .await
        .unwrap();

    ok(store.acknowledge(job.id(), false).await);
    let held = page(&store, start).await;
    assert!(
        held.changes.is_empty(),
        "committed after the open transaction began: not readable yet {:?}",
        held.changes
    );
    assert!(
        held.complete_below < held.next_transaction,
        "the reader can tell it is held back"
    );

    sqlx::query("ROLLBACK").execute(&mut open).await.unwrap();
    let (freed, last) = read_until(&store, held.next, |read, last| {
        !read.is_empty() && last.complete_below >= held.next_transaction
    })
    .await;
    assert_eq!(
        freed,
        vec![LoggedChange::FlagsAdded {
            tenant_id: DEFAULT_TENANT,
            event_id: job.id(),
            flags: EventFlags::ACKNOWLEDGED
        }]
    );
    assert!(last.complete_below >= held.next_transaction);
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_tells_a_reader_that_fell_behind() {
    let (store, guard) = common::fresh().await;
    let behind = ok(store.change_log_head().await);
    ok(store
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(1))
        .await);
    // Once no transaction of the server is older than the row, it goes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ok(store.prune_changes(Duration::ZERO).await) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "nothing pruned");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ok(store
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(2))
        .await);
    let first = page(&store, behind).await;
    assert!(first.missed, "the first append's row is gone");
    assert!(first.pruned_below > behind);
    let mut changes = first.changes.clone();
    if changes.is_empty() {
        changes = read_until(&store, first.next, |read, _| !read.is_empty())
            .await
            .0;
    }
    assert_eq!(
        changes.len(),
        1,
        "the second append is still there: {changes:?}"
    );
    // A reader at the horizon missed nothing.
    let current = page(&store, first.pruned_below).await;
    assert!(!current.missed);
    drop(guard);
}
