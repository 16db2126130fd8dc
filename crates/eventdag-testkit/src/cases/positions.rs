//! Positions: sequences per (tenant, lane) and `next_position`.
use eventdag::{DagPosition, ErrorEffect, EventFlags, EventKind, DEFAULT_TENANT};
use uuid::Uuid;

use crate::support::{err, ok, put, root, Store, TENANT_B};

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
