//! `append` and `read` (SPEC §3): what is stored, and what is refused.

use eventdag::{
    DagPosition, ErrorEffect, EventDagExt, EventFlags, EventHash, EventKind, NewEvent,
    DEFAULT_TENANT,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::{child, err, event, ok, put, read, root, Store, TENANT_B};

/// What was appended is what is read back, with the store's fields set.
pub async fn append_root_then_read_returns_it<S: Store>(store: &S) {
    let mut new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::NOTE,
        EventFlags::CRITICAL,
        7,
    );
    new.header.timestamp = 1_700_000_000_000_000;
    let id = ok(store.append(new.clone()).await);
    assert_eq!(id, new.id());
    let stored = read(store, id).await;
    assert_eq!(stored.payload, json!({"n": 7}));
    assert_eq!(stored.header.timestamp, 1_700_000_000_000_000);
    assert_eq!(stored.header.event_kind, EventKind::NOTE);
    assert_eq!(stored.header.flags, EventFlags::CRITICAL);
    assert_eq!(stored.header.position, DagPosition::root());
    assert_eq!(
        stored.header.payload_size, 7,
        "payload_size is the JSON length of {{\"n\":7}}"
    );
    assert_eq!(stored.tenant_id, DEFAULT_TENANT);
    assert!(stored.parents.is_empty());
    assert_ne!(stored.hash, EventHash::UNSET, "the store computes the hash");
}

/// A nil id is replaced by a fresh v7 id.
pub async fn append_assigns_v7_id_when_nil<S: Store>(store: &S) {
    let mut new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    new.header.event_id = Uuid::nil();
    let id = ok(store.append(new).await);
    assert!(!id.is_nil());
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(read(store, id).await.id(), id);
}

/// A zero timestamp means now.
pub async fn append_fills_zero_timestamp_with_now<S: Store>(store: &S) {
    let before = eventdag::now_micros();
    let stored = root(store, DEFAULT_TENANT).await;
    let after = eventdag::now_micros();
    let timestamp = stored.header.timestamp;
    assert!(
        before <= timestamp && timestamp <= after,
        "{before} <= {timestamp} <= {after}"
    );
}

/// A root without correlation id is its own chain.
pub async fn root_correlation_defaults_to_own_id<S: Store>(store: &S) {
    let stored = root(store, DEFAULT_TENANT).await;
    assert_eq!(stored.header.correlation_id, stored.id());
}

/// A child without correlation id inherits the first parent's.
pub async fn child_inherits_first_parents_correlation<S: Store>(store: &S) {
    let first = root(store, DEFAULT_TENANT).await;
    let second = put(
        store,
        DEFAULT_TENANT,
        &[],
        1,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;
    let merged = child(store, &[&first, &second]).await;
    assert_eq!(merged.header.correlation_id, first.id());
    assert_ne!(merged.header.correlation_id, second.id());
}

/// An explicit correlation id is kept.
pub async fn explicit_correlation_id_is_kept<S: Store>(store: &S) {
    let chain = Uuid::now_v7();
    let mut new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    new.header.correlation_id = chain;
    let id = ok(store.append(new).await);
    assert_eq!(read(store, id).await.header.correlation_id, chain);
}

/// Reading an unknown id is not-found naming it.
pub async fn read_unknown_is_not_found<S: Store>(store: &S) {
    let missing = Uuid::now_v7();
    assert_eq!(
        err(store.read(missing).await),
        ErrorEffect::NotFound { event_id: missing }
    );
}

/// A missing parent is refused and nothing is stored.
pub async fn append_rejects_missing_parent<S: Store>(store: &S) {
    let missing = Uuid::now_v7();
    let new = event(
        DEFAULT_TENANT,
        &[missing],
        DagPosition::new(1, 0, 0),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    let error = err(store.append(new.clone()).await);
    assert_eq!(
        error,
        ErrorEffect::ParentNotFound {
            event_id: new.id(),
            parent: missing
        }
    );
    assert!(error.is_domain());
    assert_eq!(
        err(store.read(new.id()).await),
        ErrorEffect::NotFound { event_id: new.id() }
    );
    assert_eq!(
        ok(store.next_position(None, 0).await).sequence,
        0,
        "no sequence consumed"
    );
}

/// A parent of another tenant is refused.
pub async fn append_rejects_parent_of_other_tenant<S: Store>(store: &S) {
    let foreign = root(store, TENANT_B).await;
    let new = event(
        DEFAULT_TENANT,
        &[foreign.id()],
        DagPosition::new(1, 0, 0),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    assert_eq!(
        err(store.append(new.clone()).await),
        ErrorEffect::TenantMismatch {
            event_id: new.id(),
            parent: foreign.id(),
            tenant_id: DEFAULT_TENANT
        }
    );
    assert!(store.read(new.id()).await.is_err());
}

/// A root must have depth 0.
pub async fn append_rejects_root_with_depth<S: Store>(store: &S) {
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::new(1, 0, 0),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    assert_eq!(
        err(store.append(new.clone()).await),
        ErrorEffect::InvalidDepth {
            event_id: new.id(),
            expected: 0,
            actual: 1
        }
    );
}

/// A child's depth must be 1 + its parent's.
pub async fn append_rejects_child_with_wrong_depth<S: Store>(store: &S) {
    let parent = root(store, DEFAULT_TENANT).await;
    for depth in [0, 2] {
        let new = event(
            DEFAULT_TENANT,
            &[parent.id()],
            DagPosition::new(depth, 0, 1),
            EventKind::DATA,
            EventFlags::empty(),
            1,
        );
        assert_eq!(
            err(store.append(new.clone()).await),
            ErrorEffect::InvalidDepth {
                event_id: new.id(),
                expected: 1,
                actual: depth
            }
        );
    }
    assert_eq!(ok(store.next_position(None, 0).await).sequence, 1);
}

/// A merge's depth is 1 + the deepest parent's.
pub async fn merge_depth_is_one_plus_deepest_parent<S: Store>(store: &S) {
    let a = root(store, DEFAULT_TENANT).await;
    let b = child(store, &[&a]).await;
    let c = child(store, &[&b]).await;
    let shallow = put(
        store,
        DEFAULT_TENANT,
        &[],
        1,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;
    let wrong = event(
        DEFAULT_TENANT,
        &[shallow.id(), c.id()],
        DagPosition::new(1, 1, 1),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    assert_eq!(
        err(store.append(wrong.clone()).await),
        ErrorEffect::InvalidDepth {
            event_id: wrong.id(),
            expected: 3,
            actual: 1
        }
    );
    let merged = put(
        store,
        DEFAULT_TENANT,
        &[&shallow, &c],
        1,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;
    assert_eq!(merged.header.position.depth, 3);
    assert_eq!(merged.parents, vec![shallow.id(), c.id()]);
}

/// A taken sequence is a conflict saying which one is free.
pub async fn append_rejects_taken_sequence<S: Store>(store: &S) {
    root(store, DEFAULT_TENANT).await;
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::new(0, 0, 0),
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    let error = err(store.append(new.clone()).await);
    assert_eq!(
        error,
        ErrorEffect::SequenceConflict {
            event_id: new.id(),
            lane: 0,
            expected: 1,
            actual: 0
        }
    );
    assert_eq!(error.code(), "conflict");
}

/// A sequence that skips ahead is refused too: lanes have no gaps.
pub async fn append_rejects_sequence_gap<S: Store>(store: &S) {
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::new(0, 0, 5),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    assert_eq!(
        err(store.append(new.clone()).await),
        ErrorEffect::SequenceConflict {
            event_id: new.id(),
            lane: 0,
            expected: 0,
            actual: 5
        }
    );
    assert!(store.read(new.id()).await.is_err());
}

/// Only version-7 ids are accepted.
pub async fn append_rejects_non_v7_id<S: Store>(store: &S) {
    let mut new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    new.header.event_id = Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef);
    let error = err(store.append(new).await);
    match &error {
        ErrorEffect::InvalidInput { field, message } => {
            assert_eq!(field, "event_id");
            assert!(
                message.contains("version 4") && message.contains("version 7"),
                "{message}"
            );
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(ok(store.next_position(None, 0).await).sequence, 0);
}

/// A payload over the limit (1 MiB by default) is refused.
pub async fn append_rejects_oversized_payload<S: Store>(store: &S) {
    let mut new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    new.payload = json!({ "blob": "x".repeat(eventdag::backend::DEFAULT_MAX_PAYLOAD_BYTES) });
    match err(store.append(new.clone()).await) {
        ErrorEffect::PayloadTooLarge {
            event_id,
            size,
            limit,
        } => {
            assert_eq!(event_id, new.id());
            assert_eq!(limit, eventdag::backend::DEFAULT_MAX_PAYLOAD_BYTES);
            assert!(size > limit);
        }
        other => panic!("expected PayloadTooLarge, got {other:?}"),
    }
    assert!(store.read(new.id()).await.is_err());
}

/// The RESERVED flag must be clear.
pub async fn append_rejects_reserved_flag<S: Store>(store: &S) {
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::RESERVED,
        1,
    );
    let error = err(store.append(new).await);
    assert!(
        matches!(&error, ErrorEffect::InvalidInput { field, .. } if field == "flags"),
        "{error:?}"
    );
}

/// A parent named twice is refused.
pub async fn append_rejects_repeated_parent<S: Store>(store: &S) {
    let parent = root(store, DEFAULT_TENANT).await;
    let new = event(
        DEFAULT_TENANT,
        &[parent.id(), parent.id()],
        DagPosition::new(1, 0, 1),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    let error = err(store.append(new).await);
    assert!(
        matches!(&error, ErrorEffect::InvalidInput { field, .. } if field == "parents"),
        "{error:?}"
    );
}

/// Flags only the store sets (ACKNOWLEDGED, COMPENSATED) are refused for
/// every caller — `append` and `append_new` alike — and store nothing.
pub async fn append_refuses_store_managed_flags<S: Store>(store: &S) {
    for (flag, name) in [
        (EventFlags::ACKNOWLEDGED, "ACKNOWLEDGED"),
        (EventFlags::COMPENSATED, "COMPENSATED"),
    ] {
        let new = event(
            DEFAULT_TENANT,
            &[],
            DagPosition::root(),
            EventKind::DATA,
            EventFlags::REQUIRES_ACK | flag,
            1,
        );
        match err(store.append(new.clone()).await) {
            ErrorEffect::InvalidInput { field, message } => {
                assert_eq!(field, "flags");
                assert!(message.contains(name), "{message}");
                assert!(
                    message.contains("REQUIRES_ACK"),
                    "names what is accepted: {message}"
                );
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
        let draft = NewEvent::new(json!(1)).flags(flag);
        assert!(matches!(
            err(store.append_new(draft).await),
            ErrorEffect::InvalidInput { field, .. } if field == "flags"
        ));
        assert_eq!(
            err(store.read(new.id()).await),
            ErrorEffect::NotFound { event_id: new.id() }
        );
    }
    assert_eq!(ok(store.next_position(None, 0).await).sequence, 0);
    assert!(ok(store.unacknowledged(10).await).is_empty());
}

/// A correlation id that is neither left out (nil) nor a v7 UUID is
/// refused for every caller, and stores nothing.
pub async fn append_refuses_non_v7_correlation_id<S: Store>(store: &S) {
    let v4 = Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef);
    let mut new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    new.header.correlation_id = v4;
    match err(store.append(new).await) {
        ErrorEffect::InvalidInput { field, message } => {
            assert_eq!(field, "correlation_id");
            assert!(
                message.contains("version 4") && message.contains("version 7"),
                "{message}"
            );
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(matches!(
        err(store.append_new(NewEvent::new(json!(1)).correlation(v4)).await),
        ErrorEffect::InvalidInput { field, .. } if field == "correlation_id"
    ));
    assert_eq!(ok(store.next_position(None, 0).await).sequence, 0);
}
