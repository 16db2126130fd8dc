//! LISTEN/NOTIFY: appends, acks, signals and chain changes reach
//! subscribers after commit, ids and kinds only; rolled-back writes are
//! never announced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use eventdag::{
    DagStore, EventDag, EventDagExt, EventKind, NewEvent, UpstreamSignal, DEFAULT_TENANT,
};
use eventdag_postgres::{AppendedEvent, PgChange, MAX_NOTIFIED_EVENTS};
use serde_json::json;
use tokio::sync::broadcast::Receiver;

async fn next(changes: &mut Receiver<PgChange>) -> PgChange {
    tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .expect("a notification within 5 s")
        .expect("channel open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_announced_after_commit() {
    let (store, _guard) = common::fresh().await;
    let mut changes = store.subscribe().await.unwrap();

    let root = store
        .append_root(DEFAULT_TENANT, EventKind::NOTE, json!("r"))
        .await
        .into_result()
        .unwrap();
    assert_eq!(
        next(&mut changes).await,
        PgChange::Appended {
            tenant_id: DEFAULT_TENANT,
            first_cursor: 1,
            last_cursor: 1,
            events: vec![AppendedEvent {
                id: root.id(),
                kind: EventKind::NOTE
            }],
            truncated: false,
        }
    );

    // A refused append is rolled back and announces nothing; the next
    // notification is the acknowledgment.
    let mut bad = root.clone();
    bad.payload = json!("other");
    assert!(store.append(bad).await.is_err());
    store
        .acknowledge(root.id(), false)
        .await
        .into_result()
        .unwrap();
    assert_eq!(
        next(&mut changes).await,
        PgChange::Acknowledged {
            tenant_id: DEFAULT_TENANT,
            event_id: root.id()
        }
    );

    let cancel = UpstreamSignal::Cancel {
        correlation_id: root.id(),
        reason: "stop".into(),
    };
    store
        .signal_upstream(root.id(), cancel)
        .await
        .into_result()
        .unwrap();
    assert_eq!(
        next(&mut changes).await,
        PgChange::Signalled {
            tenant_id: DEFAULT_TENANT,
            sequence: 1,
            from: root.id(),
            signal: "cancel".into()
        }
    );
    assert_eq!(
        next(&mut changes).await,
        PgChange::ChainChanged {
            tenant_id: DEFAULT_TENANT,
            correlation_id: root.id()
        }
    );

    // A large batch names the first events only and stays under 8000 bytes.
    let drafts: Vec<_> = (0..200).map(|n| NewEvent::new(json!(n)).lane(5)).collect();
    let ids = store.append_new_batch(drafts).await.into_result().unwrap();
    match next(&mut changes).await {
        PgChange::Appended {
            first_cursor,
            last_cursor,
            events,
            truncated,
            ..
        } => {
            assert_eq!((first_cursor, last_cursor, truncated), (2, 201, true));
            assert_eq!(events.len(), MAX_NOTIFIED_EVENTS);
            assert_eq!(events[0].id, ids[0].id());
        }
        other => panic!("{other:?}"),
    }
    let page = store
        .events_after(DEFAULT_TENANT, 1, 1000)
        .await
        .into_result()
        .unwrap();
    assert_eq!(page.len(), 200);
}
