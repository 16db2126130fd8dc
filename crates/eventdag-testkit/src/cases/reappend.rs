//! Re-appends: an id that is stored already is checked first; the same
//! content is idempotent, other content a conflict.
use eventdag::{
    DagPosition, ErrorEffect, EventDagExt, EventFlags, EventKind, NewEvent, DEFAULT_TENANT,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::{err, event, ok, read, root, Store, TENANT_B};

/// Appending the same event again returns its id and stores nothing.
pub async fn reappend_identical_is_idempotent<S: Store>(store: &S) {
    let parent = root(store, DEFAULT_TENANT).await;
    let new = event(
        DEFAULT_TENANT,
        &[parent.id()],
        DagPosition::new(1, 0, 1),
        EventKind::NOTE,
        EventFlags::REQUIRES_ACK,
        3,
    );
    let id = ok(store.append(new.clone()).await);
    let first = read(store, id).await;
    assert_eq!(ok(store.append(new).await), id);
    assert_eq!(read(store, id).await, first);
    assert_eq!(
        ok(store.next_position(None, 0).await).sequence,
        2,
        "no sequence consumed"
    );
    assert_eq!(
        ok(store
            .find_correlation_chain(DEFAULT_TENANT, parent.id())
            .await)
        .len(),
        2
    );
    assert_eq!(ok(store.unacknowledged(10).await).len(), 1);
}

/// Flags the store set later (ACKNOWLEDGED) do not make a re-append differ.
pub async fn reappend_after_ack_is_still_idempotent<S: Store>(store: &S) {
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::REQUIRES_ACK,
        1,
    );
    let id = ok(store.append(new.clone()).await);
    ok(store.acknowledge(id, false).await);
    assert_eq!(ok(store.append(new).await), id);
    assert!(read(store, id).await.is_acknowledged());
}

/// The same id with another payload is a conflict.
pub async fn reappend_with_other_payload_conflicts<S: Store>(store: &S) {
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    ok(store.append(new.clone()).await);
    let mut changed = new.clone();
    changed.payload = json!({"n": 2});
    let error = err(store.append(changed).await);
    assert!(
        matches!(&error, ErrorEffect::IdConflict { event_id, difference } if *event_id == new.id() && difference.contains("payload")),
        "{error:?}"
    );
    assert_eq!(read(store, new.id()).await.payload, json!({"n": 1}));
}

/// The same id at another position (or kind) is a conflict.
pub async fn reappend_with_other_header_conflicts<S: Store>(store: &S) {
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    ok(store.append(new.clone()).await);
    let mut moved = new.clone();
    moved.header.position = DagPosition::new(0, 0, 1);
    assert!(matches!(
        err(store.append(moved).await),
        ErrorEffect::IdConflict { .. }
    ));
    let mut rekinded = new.clone();
    rekinded.header.event_kind = EventKind::NOTE;
    assert!(matches!(
        err(store.append(rekinded).await),
        ErrorEffect::IdConflict { .. }
    ));
}

/// A timestamp or correlation id given on a re-append must match the
/// stored one; left out (0, nil), they match whatever the store chose.
pub async fn reappend_compares_given_timestamp_and_correlation<S: Store>(store: &S) {
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    let stored = read(store, ok(store.append(new.clone()).await)).await;
    assert_eq!(ok(store.append(new.clone()).await), new.id(), "left out");
    let mut explicit = new.clone();
    explicit.header.timestamp = stored.header.timestamp;
    explicit.header.correlation_id = stored.header.correlation_id;
    assert_eq!(ok(store.append(explicit).await), new.id(), "given, equal");
    let mut later = new.clone();
    later.header.timestamp = stored.header.timestamp + 1;
    assert!(matches!(
        err(store.append(later).await),
        ErrorEffect::IdConflict { difference, .. } if difference.contains("timestamp")
    ));
    let mut elsewhere = new;
    elsewhere.header.correlation_id = Uuid::now_v7();
    assert!(matches!(
        err(store.append(elsewhere).await),
        ErrorEffect::IdConflict { difference, .. } if difference.contains("correlation_id")
    ));
}

/// Re-appending another tenant's id reads as not found (existence is not
/// leaked), through `append` and `append_new` alike, and changes nothing.
pub async fn reappend_under_another_tenant_is_not_found<S: Store>(store: &S) {
    let theirs = root(store, TENANT_B).await;
    let mut copy = theirs.clone();
    copy.tenant_id = DEFAULT_TENANT;
    assert_eq!(
        err(store.append(copy).await),
        ErrorEffect::NotFound {
            event_id: theirs.id()
        }
    );
    let draft = NewEvent::new(json!({"mine": true})).id(theirs.id());
    assert_eq!(
        err(store.append_new(draft).await),
        ErrorEffect::NotFound {
            event_id: theirs.id()
        }
    );
    assert_eq!(read(store, theirs.id()).await, theirs);
    assert_eq!(ok(store.next_position(None, 0).await).sequence, 0);
}

/// An append answers the events exactly as a read returns them after it
/// (ids, positions, chains, timestamps, flags, hashes) — new ones and
/// re-appends alike, a re-append with the flags the store set since.
pub async fn appends_return_what_is_stored<S: Store>(store: &S) {
    let parent = root(store, DEFAULT_TENANT).await;
    let first = Uuid::now_v7();
    let drafts = vec![
        NewEvent::new(json!({"n": 1}))
            .id(first)
            .parents([parent.id()])
            .flags(EventFlags::REQUIRES_ACK),
        NewEvent::new(json!({"n": 2})).parents([first]).lane(2),
    ];
    let stored = ok(store.append_new_batch(drafts.clone()).await);
    assert_eq!(stored.len(), 2);
    for event in &stored {
        assert_eq!(event, &read(store, event.id()).await);
    }
    ok(store.acknowledge(first, false).await);
    let again = ok(store.append_new(drafts[0].clone()).await);
    assert!(again.is_acknowledged());
    assert_eq!(again, read(store, first).await);
}
