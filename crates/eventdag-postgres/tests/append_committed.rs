//! `PgDag::append_committed`: the events it returns are exactly what a
//! read returns afterwards (store-filled fields included), in order, and
//! re-appended events are not among them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eventdag::{DagPosition, EventDag, EventFlags, EventKind, DEFAULT_TENANT};
use eventdag_testkit::support::{event, ok, root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserted_events_are_returned_as_stored() {
    let (store, _guard) = common::fresh().await;
    let parent = root(&store, DEFAULT_TENANT).await;
    let placeholder = DagPosition::new(0, 2, 0);
    let first = event(
        DEFAULT_TENANT,
        &[parent.id()],
        placeholder,
        EventKind::DATA,
        EventFlags::REQUIRES_ACK,
        1,
    );
    let second = event(
        DEFAULT_TENANT,
        &[first.id()],
        placeholder,
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    let committed = ok(store
        .append_committed(vec![first.clone(), second.clone()], true)
        .await);
    assert_eq!(committed.ids, vec![first.id(), second.id()]);
    assert_eq!(committed.inserted.len(), 2);
    for inserted in &committed.inserted {
        assert_eq!(inserted, &ok(store.read(inserted.id()).await));
    }
    assert_eq!(
        committed.inserted[1].header.position,
        DagPosition::new(2, 2, 1)
    );
    assert_eq!(committed.inserted[1].header.correlation_id, parent.id());
    assert_ne!(committed.inserted[1].header.timestamp, 0);

    // The same batch again plus one new event: all ids, one inserted.
    let third = event(
        DEFAULT_TENANT,
        &[second.id()],
        placeholder,
        EventKind::DATA,
        EventFlags::empty(),
        3,
    );
    let again = ok(store
        .append_committed(vec![first.clone(), second.clone(), third.clone()], true)
        .await);
    assert_eq!(again.ids, vec![first.id(), second.id(), third.id()]);
    assert_eq!(again.inserted, vec![ok(store.read(third.id()).await)]);
}
