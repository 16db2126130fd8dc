//! Positions assigned by the store inside its write transaction
//! (`Placement::Assigned`).
use eventdag::{DagPosition, ErrorEffect, EventFlags, EventKind, DEFAULT_TENANT};
use serde_json::json;
use uuid::Uuid;

use crate::support::{assigned, err, event, ok, read, root, Store, TENANT_B};

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
    let first = read(store, ok(assigned(store, first).await)).await;
    let second = read(store, ok(assigned(store, second).await)).await;
    let lone = read(store, ok(assigned(store, lone).await)).await;
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
    let id = ok(assigned(store, new.clone()).await);
    assert_eq!(ok(assigned(store, new.clone()).await), id);
    assert_eq!(
        ok(store.next_position(None, 3).await).sequence,
        1,
        "one sequence used"
    );
    let mut other_lane = new.clone();
    other_lane.header.position.lane = 4;
    assert!(matches!(
        err(assigned(store, other_lane).await),
        ErrorEffect::IdConflict { .. }
    ));
    let mut other_payload = new;
    other_payload.payload = json!({"n": 2});
    assert!(matches!(
        err(assigned(store, other_payload).await),
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
        err(assigned(store, orphan.clone()).await),
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
        err(assigned(store, crossing).await),
        ErrorEffect::TenantMismatch { .. }
    ));
    assert_eq!(
        ok(store.next_position(None, 0).await).sequence,
        0,
        "no sequence consumed"
    );
}
