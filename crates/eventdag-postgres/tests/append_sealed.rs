//! `PgDag::append_sealed`: the events it returns are exactly what a read
//! returns afterwards (store-filled fields included), in order, with the
//! payload bytes as stored, and re-appended events marked as such.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eventdag::{DagPosition, DagStore, EventDag, EventFlags, EventKind, NewEvent, DEFAULT_TENANT};
use eventdag_testkit::support::{event, ok, root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_events_are_returned_as_stored() {
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
    let drafts = |events: &[&eventdag::Event<serde_json::Value>]| -> Vec<NewEvent<_>> {
        events
            .iter()
            .map(|event| NewEvent::from((*event).clone()).assigned())
            .collect()
    };
    let sealed = ok(store.append_sealed(drafts(&[&first, &second])).await);
    assert_eq!(sealed.len(), 2);
    for appended in &sealed {
        assert!(appended.inserted);
        assert_eq!(appended.event, ok(store.read(appended.event.id()).await));
        let record = ok(store.stored_record(appended.event.id()).await);
        assert_eq!(appended.payload_bytes, record.payload_bytes);
    }
    assert_eq!(sealed[1].event.header.position, DagPosition::new(2, 2, 1));
    assert_eq!(sealed[1].event.header.correlation_id, parent.id());
    assert_ne!(sealed[1].event.header.timestamp, 0);

    // The same batch again plus one new event: all three, one inserted.
    let third = event(
        DEFAULT_TENANT,
        &[second.id()],
        placeholder,
        EventKind::DATA,
        EventFlags::empty(),
        3,
    );
    let again = ok(store
        .append_sealed(drafts(&[&first, &second, &third]))
        .await);
    let inserted: Vec<bool> = again.iter().map(|appended| appended.inserted).collect();
    assert_eq!(inserted, vec![false, false, true]);
    assert_eq!(again[0].event, sealed[0].event);
    assert_eq!(again[2].event, ok(store.read(third.id()).await));
}
