//! The durable change log (migrations 0004, 0005): every append, flag
//! change, redaction, chain removal and tenant erasure is in it, written by the change's own transaction; a reader never
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
            _ => None,
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
            _ => None,
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

/// Redaction, chain removal and erasure are logged by their own
/// transaction: one row per redacted or removed event, one tenant-less
/// row per erased tenant; a removal that keeps the chain logs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_is_logged_for_other_nodes() {
    use eventdag::Forgetting;

    let (store, _guard) = common::fresh().await;
    let old = eventdag::now_micros() - 1_000_000;
    let kept = ok(store.append_new(NewEvent::new(json!({"k": 1}))).await);
    let root = ok(store
        .append_new(
            NewEvent::new(json!({"r": 1}))
                .tenant(TENANT_B)
                .timestamp(old),
        )
        .await);
    let child = ok(store
        .append_new(
            NewEvent::new(json!({"c": 1}))
                .tenant(TENANT_B)
                .parents([root.id()])
                .timestamp(old),
        )
        .await);
    let head = ok(store.change_log_head().await);
    ok(store
        .redact(DEFAULT_TENANT, kept.id(), "erase".into())
        .await);
    assert_eq!(
        ok(store.remove_chain(TENANT_B, root.id(), old).await),
        eventdag::ChainRemoval::Kept {
            reason: eventdag::KeptReason::TooYoung {
                event_id: child.id()
            }
        }
    );
    assert_eq!(
        ok(store.remove_chain(TENANT_B, root.id(), old + 10).await),
        eventdag::ChainRemoval::Removed { events: 2 }
    );
    // Read before the erasure, which deletes the tenant's rows of the log
    // too (a reader that had not read them learns of the erasure instead).
    let (mut changes, last) = read_until(&store, head, |read, _| {
        read.iter()
            .filter(|c| matches!(c, LoggedChange::Removed { .. }))
            .count()
            == 2
    })
    .await;
    ok(store.erase_tenant(TENANT_B).await);
    let (erased, _) = read_until(&store, last.next, |read, _| {
        read.contains(&LoggedChange::TenantErased)
    })
    .await;
    changes.extend(erased);
    // The head may re-read appends that committed just before it.
    changes.retain(|c| !matches!(c, LoggedChange::Appended { .. }));
    let (left,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM eventdag_changes WHERE tenant_id = $1")
            .bind(TENANT_B)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(left, 0, "the erased tenant's rows of the log are gone");
    let mut removed: Vec<_> = changes
        .iter()
        .filter_map(|change| match change {
            LoggedChange::Removed {
                tenant_id,
                event_id,
            } => Some((*tenant_id, *event_id)),
            _ => None,
        })
        .collect();
    removed.sort();
    let mut expected = vec![(TENANT_B, root.id()), (TENANT_B, child.id())];
    expected.sort();
    assert_eq!(removed, expected, "{changes:?}");
    assert_eq!(
        changes.first(),
        Some(&LoggedChange::Redacted {
            tenant_id: DEFAULT_TENANT,
            event_id: kept.id()
        }),
        "{changes:?}"
    );
    assert_eq!(changes.len(), 4, "{changes:?}");
}
