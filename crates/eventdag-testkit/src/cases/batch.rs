//! Batch append, commit-ordered cursors, hash verification and the
//! `EventDagExt` conveniences.

use std::future::Future;
use std::pin::Pin;

use eventdag::{
    DagPosition, ErrorEffect, EventDagExt, EventFlags, EventId, EventKind, NewEvent, DEFAULT_TENANT,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::{
    assigned_batch, child, diamond, err, event, ids, ok, read, root, Store, TENANT_B,
};

/// A batch stores every event, later ones under earlier ones.
pub async fn batch_appends_all_with_parents_inside<S: Store>(store: &S) {
    let a = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::new(0, 0, 0),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    let b = event(
        DEFAULT_TENANT,
        &[a.id()],
        DagPosition::new(1, 0, 1),
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    let c = event(
        DEFAULT_TENANT,
        &[a.id(), b.id()],
        DagPosition::new(2, 1, 0),
        EventKind::DATA,
        EventFlags::empty(),
        3,
    );
    let expected = vec![a.id(), b.id(), c.id()];
    assert_eq!(
        ok(store.append_batch(vec![a.clone(), b, c]).await),
        expected
    );
    let chain = ok(store.find_correlation_chain(DEFAULT_TENANT, a.id()).await);
    assert_eq!(
        ids(&chain),
        expected,
        "children inherit the batch root's chain"
    );
    assert_eq!(ok(store.next_position(None, 0).await).sequence, 2);
}

/// One bad event refuses the whole batch; nothing is stored.
pub async fn batch_with_a_bad_event_stores_nothing<S: Store>(store: &S) {
    let a = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::new(0, 0, 0),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    let b = event(
        DEFAULT_TENANT,
        &[a.id()],
        DagPosition::new(1, 0, 1),
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    let bad = event(
        DEFAULT_TENANT,
        &[b.id()],
        DagPosition::new(5, 0, 2),
        EventKind::DATA,
        EventFlags::empty(),
        3,
    );
    let error = err(store
        .append_batch(vec![a.clone(), b.clone(), bad.clone()])
        .await);
    assert_eq!(
        error,
        ErrorEffect::InvalidDepth {
            event_id: bad.id(),
            expected: 2,
            actual: 5
        }
    );
    for id in [a.id(), b.id(), bad.id()] {
        assert!(store.read(id).await.is_err(), "{id} must not be stored");
    }
    assert_eq!(ok(store.next_position(None, 0).await).sequence, 0);
    assert!(ok(store.events_after(DEFAULT_TENANT, 0, 10).await).is_empty());
}

/// The event log of a tenant resumes from a cursor, in commit order.
pub async fn events_after_resumes_in_commit_order<S: Store>(store: &S) {
    let a = root(store, DEFAULT_TENANT).await;
    let foreign = root(store, TENANT_B).await;
    let b = child(store, &[&a]).await;
    let c = root(store, DEFAULT_TENANT).await;
    let all = ok(store.events_after(DEFAULT_TENANT, 0, 10).await);
    let seen: Vec<EventId> = all.iter().map(|e| e.event.id()).collect();
    assert_eq!(seen, vec![a.id(), b.id(), c.id()]);
    assert!(all.windows(2).all(|w| w[0].cursor < w[1].cursor));
    let rest = ok(store.events_after(DEFAULT_TENANT, all[0].cursor, 10).await);
    assert_eq!(
        rest.iter().map(|e| e.event.id()).collect::<Vec<_>>(),
        vec![b.id(), c.id()]
    );
    let one = ok(store.events_after(DEFAULT_TENANT, all[0].cursor, 1).await);
    assert_eq!(one.len(), 1);
    assert!(ok(store.events_after(DEFAULT_TENANT, all[2].cursor, 10).await).is_empty());
    let theirs = ok(store.events_after(TENANT_B, 0, 10).await);
    assert_eq!(
        theirs.iter().map(|e| e.event.id()).collect::<Vec<_>>(),
        vec![foreign.id()]
    );
}

/// Intact events and chains verify.
pub async fn verify_intact_event_and_chain<S: Store>(store: &S) {
    let g = diamond(store).await;
    ok(store.acknowledge(g.b.id(), true).await);
    let one = ok(store.verify_event(g.d.id()).await);
    assert_eq!((one.checked, one.first_mismatch), (1, None));
    let chain = ok(store.verify_chain(DEFAULT_TENANT, g.a.id()).await);
    assert_eq!(chain.checked, 4);
    assert!(chain.is_intact());
    let missing = Uuid::now_v7();
    assert_eq!(
        err(store.verify_event(missing).await),
        ErrorEffect::NotFound { event_id: missing }
    );
}

/// Corrupting stored bytes is reported at the first corrupted event of a
/// chain. `corrupt` changes an event's stored payload bytes behind the
/// store's back.
pub async fn verify_reports_first_corrupted_event<S, F>(store: &S, corrupt: F)
where
    S: Store,
    F: for<'a> Fn(&'a S, EventId) -> Pin<Box<dyn Future<Output = ()> + 'a>>,
{
    let g = diamond(store).await;
    corrupt(store, g.c.id()).await;
    corrupt(store, g.d.id()).await;
    let chain = ok(store.verify_chain(DEFAULT_TENANT, g.a.id()).await);
    let mismatch = chain.first_mismatch.expect("corruption must be found");
    assert_eq!(mismatch.event_id, g.c.id());
    assert_eq!(mismatch.stored, g.c.hash);
    assert_ne!(mismatch.computed, g.c.hash);
    assert_eq!(chain.checked, 3, "a, b, then c");
    assert!(ok(store.verify_event(g.b.id()).await).is_intact());
    assert_eq!(
        ok(store.verify_event(g.d.id()).await)
            .first_mismatch
            .map(|m| m.event_id),
        Some(g.d.id())
    );
}

/// `append_new` works out the position; a client id makes it idempotent.
pub async fn append_new_is_idempotent_with_client_id<S: Store>(store: &S) {
    let parent = root(store, TENANT_B).await;
    let id = Uuid::now_v7();
    let draft = NewEvent::new(json!({"step": 1}))
        .tenant(TENANT_B)
        .parents([parent.id()])
        .id(id);
    let first = ok(store.append_new(draft.clone()).await);
    assert_eq!(first.id(), id);
    assert_eq!(first.header.position, DagPosition::new(1, 0, 1));
    let again = ok(store.append_new(draft.clone()).await);
    assert_eq!(again, first);
    assert_eq!(
        ok(store.next_position_for_tenant(TENANT_B, None, 0).await).sequence,
        2
    );
    let changed = NewEvent {
        payload: json!({"step": 2}),
        ..draft
    };
    assert!(matches!(
        err(store.append_new(changed).await),
        ErrorEffect::IdConflict { .. }
    ));
}

/// Root, child, fork and merge put events where they belong.
pub async fn fork_and_merge_conveniences<S: Store>(store: &S) {
    let start = ok(store
        .append_root(DEFAULT_TENANT, EventKind::TRAJECTORY, json!("start"))
        .await);
    let left = ok(store
        .append_child(start.id(), EventKind::TURN, json!("left"))
        .await);
    let right = ok(store
        .fork(start.id(), 7, EventKind::TURN, json!("right"))
        .await);
    let joined = ok(store
        .merge(
            vec![left.id(), right.id()],
            EventKind::HANDOFF,
            json!("join"),
        )
        .await);
    assert_eq!(start.header.position, DagPosition::new(0, 0, 0));
    assert_eq!(left.header.position, DagPosition::new(1, 0, 1));
    assert_eq!(right.header.position, DagPosition::new(1, 7, 0));
    assert_eq!(joined.header.position, DagPosition::new(2, 0, 2));
    assert_eq!(joined.parents, vec![left.id(), right.id()]);
    assert_eq!(joined.header.correlation_id, start.id());
    assert_eq!(read(store, joined.id()).await.payload, json!("join"));
    assert!(matches!(
        err(store.merge(vec![], EventKind::DATA, json!(null)).await),
        ErrorEffect::InvalidInput { .. }
    ));
}

/// `append_new_batch` places drafts that refer to each other.
pub async fn append_new_batch_places_drafts<S: Store>(store: &S) {
    let existing = root(store, DEFAULT_TENANT).await;
    let first = Uuid::now_v7();
    let drafts = vec![
        NewEvent::new(json!(1)).parents([existing.id()]).id(first),
        NewEvent::new(json!(2)).parents([first]),
        NewEvent::new(json!(3)).parents([first]).lane(4),
    ];
    let stored = ok(store.append_new_batch(drafts).await);
    let ids: Vec<_> = stored.iter().map(|event| event.id()).collect();
    let events: Vec<_> = futures::future::join_all(ids.iter().map(|id| store.read(*id))).await;
    let positions: Vec<DagPosition> = events.into_iter().map(|e| ok(e).header.position).collect();
    assert_eq!(
        positions,
        vec![
            DagPosition::new(1, 0, 1),
            DagPosition::new(2, 0, 2),
            DagPosition::new(2, 4, 0)
        ]
    );
}

/// `append_assigned_batch` assigns every position inside the transaction:
/// depths from parents (earlier events of the batch included), consecutive
/// sequences per lane after what is stored. A batch with a bad event
/// stores nothing and uses no sequence.
pub async fn append_assigned_batch_assigns_every_position<S: Store>(store: &S) {
    let existing = root(store, DEFAULT_TENANT).await;
    let garbage = DagPosition::new(7, 0, 99);
    let a = event(
        DEFAULT_TENANT,
        &[existing.id()],
        garbage,
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    let b = event(
        DEFAULT_TENANT,
        &[a.id()],
        garbage,
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    let mut c = event(
        DEFAULT_TENANT,
        &[a.id(), b.id()],
        garbage,
        EventKind::DATA,
        EventFlags::empty(),
        3,
    );
    c.header.position.lane = 5;
    let d = event(
        DEFAULT_TENANT,
        &[],
        garbage,
        EventKind::DATA,
        EventFlags::empty(),
        4,
    );
    let batch = vec![a.clone(), b.clone(), c.clone(), d.clone()];
    let stored = ok(assigned_batch(store, batch.clone()).await);
    assert_eq!(stored, vec![a.id(), b.id(), c.id(), d.id()]);
    let mut positions = Vec::new();
    for id in &stored {
        positions.push(read(store, *id).await.header.position);
    }
    assert_eq!(
        positions,
        vec![
            DagPosition::new(1, 0, 1),
            DagPosition::new(2, 0, 2),
            DagPosition::new(3, 5, 0),
            DagPosition::new(0, 0, 3),
        ]
    );
    assert_eq!(
        ok(assigned_batch(store, batch).await),
        stored,
        "re-appending the batch is idempotent"
    );

    let fine = event(
        DEFAULT_TENANT,
        &[],
        garbage,
        EventKind::DATA,
        EventFlags::empty(),
        5,
    );
    let missing = Uuid::now_v7();
    let orphan = event(
        DEFAULT_TENANT,
        &[missing],
        garbage,
        EventKind::DATA,
        EventFlags::empty(),
        6,
    );
    assert_eq!(
        err(assigned_batch(store, vec![fine.clone(), orphan.clone()]).await),
        ErrorEffect::ParentNotFound {
            event_id: orphan.id(),
            parent: missing
        }
    );
    assert_eq!(
        err(store.read(fine.id()).await),
        ErrorEffect::NotFound {
            event_id: fine.id()
        }
    );
    assert_eq!(
        ok(store.next_position(None, 0).await).sequence,
        4,
        "the refused batch used no sequence"
    );
}

/// `append_new` refusals come from the store's own checks and name the
/// new event: a missing parent (first or later, lane given or not) is
/// `ParentNotFound`, a parent of another tenant `TenantMismatch`; nothing
/// is stored and no sequence is used.
pub async fn append_new_refusals_name_the_new_event<S: Store>(store: &S) {
    let existing = root(store, DEFAULT_TENANT).await;
    let missing = Uuid::now_v7();
    let cases = [
        NewEvent::new(json!(1)).parents([missing]),
        NewEvent::new(json!(2)).parents([existing.id(), missing]),
        NewEvent::new(json!(3)).parents([missing]).lane(3),
    ];
    for draft in cases {
        let id = Uuid::now_v7();
        assert_eq!(
            err(store.append_new(draft.id(id)).await),
            ErrorEffect::ParentNotFound {
                event_id: id,
                parent: missing
            }
        );
        assert_eq!(
            err(store.read(id).await),
            ErrorEffect::NotFound { event_id: id }
        );
    }
    let foreign = root(store, TENANT_B).await;
    let id = Uuid::now_v7();
    assert_eq!(
        err(store
            .append_new(NewEvent::new(json!(4)).parents([foreign.id()]).id(id))
            .await),
        ErrorEffect::TenantMismatch {
            event_id: id,
            parent: foreign.id(),
            tenant_id: DEFAULT_TENANT
        }
    );
    assert_eq!(ok(store.next_position(None, 0).await).sequence, 1);
    assert_eq!(ok(store.next_position(None, 3).await).sequence, 0);
}
