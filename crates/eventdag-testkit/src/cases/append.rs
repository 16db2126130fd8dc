//! `append`, `read` and `next_position` (SPEC §3).

use eventdag::{DagPosition, ErrorEffect, EventFlags, EventHash, EventKind, DEFAULT_TENANT};
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
    new.payload = json!({ "blob": "x".repeat(eventdag::append_rules::DEFAULT_MAX_PAYLOAD_BYTES) });
    match err(store.append(new.clone()).await) {
        ErrorEffect::PayloadTooLarge {
            event_id,
            size,
            limit,
        } => {
            assert_eq!(event_id, new.id());
            assert_eq!(limit, eventdag::append_rules::DEFAULT_MAX_PAYLOAD_BYTES);
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

/// Sequences count per (tenant, lane).
pub async fn sequences_are_per_tenant_and_lane<S: Store>(store: &S) {
    let a0 = root(store, DEFAULT_TENANT).await;
    let a1 = root(store, DEFAULT_TENANT).await;
    let b0 = root(store, TENANT_B).await;
    let lane3 = put(
        store,
        DEFAULT_TENANT,
        &[],
        3,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;
    assert_eq!(a0.header.position.sequence, 0);
    assert_eq!(a1.header.position.sequence, 1);
    assert_eq!(b0.header.position.sequence, 0);
    assert_eq!(lane3.header.position, DagPosition::new(0, 3, 0));
    assert_eq!(
        ok(store.next_position(None, 0).await),
        DagPosition::new(0, 0, 2)
    );
    assert_eq!(
        ok(store.next_position_for_tenant(TENANT_B, None, 0).await),
        DagPosition::new(0, 0, 1)
    );
}

/// `next_position` takes depth from the parent and the sequence from the
/// parent's tenant and the lane, and reserves nothing.
pub async fn next_position_follows_parent_and_reserves_nothing<S: Store>(store: &S) {
    let parent = root(store, TENANT_B).await;
    let next = ok(store.next_position(Some(parent.id()), 0).await);
    assert_eq!(next, DagPosition::new(1, 0, 1));
    assert_eq!(ok(store.next_position(Some(parent.id()), 0).await), next);
    assert_eq!(
        ok(store.next_position(Some(parent.id()), 2).await),
        DagPosition::new(1, 2, 0)
    );
    assert_eq!(
        ok(store.next_position(None, 0).await),
        DagPosition::new(0, 0, 0),
        "default tenant untouched"
    );
}

/// `next_position` under an unknown parent is not-found; under another
/// tenant's parent (tenant-scoped form) too.
pub async fn next_position_unknown_or_foreign_parent_not_found<S: Store>(store: &S) {
    let missing = Uuid::now_v7();
    assert_eq!(
        err(store.next_position(Some(missing), 0).await),
        ErrorEffect::NotFound { event_id: missing }
    );
    let foreign = root(store, TENANT_B).await;
    assert_eq!(
        err(store
            .next_position_for_tenant(DEFAULT_TENANT, Some(foreign.id()), 0)
            .await),
        ErrorEffect::NotFound {
            event_id: foreign.id()
        }
    );
}

/// `append_assigned` takes the depth the parents imply and the lane's next
/// free sequence, whatever position the event carried.
pub async fn append_assigned_takes_depth_and_next_sequence<S: Store>(store: &S) {
    let parent = root(store, DEFAULT_TENANT).await;
    let first = event(
        DEFAULT_TENANT,
        &[parent.id()],
        DagPosition::new(9, 2, 77),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    let second = event(
        DEFAULT_TENANT,
        &[parent.id()],
        DagPosition::new(0, 2, 0),
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    let lone = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::new(5, 0, 5),
        EventKind::DATA,
        EventFlags::empty(),
        3,
    );
    let first = read(store, ok(store.append_assigned(first).await)).await;
    let second = read(store, ok(store.append_assigned(second).await)).await;
    let lone = read(store, ok(store.append_assigned(lone).await)).await;
    assert_eq!(first.header.position, DagPosition::new(1, 2, 0));
    assert_eq!(second.header.position, DagPosition::new(1, 2, 1));
    assert_eq!(lone.header.position, DagPosition::new(0, 0, 1));
    assert_eq!(first.header.correlation_id, parent.id());
}

/// Re-appending through `append_assigned` is idempotent; another lane or
/// payload under the same id is a conflict.
pub async fn append_assigned_reappend_is_idempotent<S: Store>(store: &S) {
    let new = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::new(0, 3, 0),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    let id = ok(store.append_assigned(new.clone()).await);
    assert_eq!(ok(store.append_assigned(new.clone()).await), id);
    assert_eq!(
        ok(store.next_position(None, 3).await).sequence,
        1,
        "one sequence used"
    );
    let mut other_lane = new.clone();
    other_lane.header.position.lane = 4;
    assert!(matches!(
        err(store.append_assigned(other_lane).await),
        ErrorEffect::IdConflict { .. }
    ));
    let mut other_payload = new;
    other_payload.payload = json!({"n": 2});
    assert!(matches!(
        err(store.append_assigned(other_payload).await),
        ErrorEffect::IdConflict { .. }
    ));
}

/// `append_assigned` refuses what `append` refuses, storing nothing.
pub async fn append_assigned_validates_like_append<S: Store>(store: &S) {
    let missing = Uuid::now_v7();
    let orphan = event(
        DEFAULT_TENANT,
        &[missing],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    assert_eq!(
        err(store.append_assigned(orphan.clone()).await),
        ErrorEffect::ParentNotFound {
            event_id: orphan.id(),
            parent: missing
        }
    );
    let foreign = root(store, TENANT_B).await;
    let crossing = event(
        DEFAULT_TENANT,
        &[foreign.id()],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    assert!(matches!(
        err(store.append_assigned(crossing).await),
        ErrorEffect::TenantMismatch { .. }
    ));
    assert_eq!(
        ok(store.next_position(None, 0).await).sequence,
        0,
        "no sequence consumed"
    );
}
