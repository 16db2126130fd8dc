//! `walk_ancestors` and `walk_descendants` (SPEC §3).

use eventdag::{
    ErrorEffect, EventDagExt, EventFlags, EventId, EventKind, NewEvent, DEFAULT_TENANT, MAX_LIMIT,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::{child, diamond, err, ids, line, ok, put, root, Store};

/// A line walks back from the tip to the root.
pub async fn ancestors_of_a_line_run_tip_to_root<S: Store>(store: &S) {
    let events = line(store, DEFAULT_TENANT, 5).await;
    let walked = ok(store.walk_ancestors(events[4].id(), 100).await);
    let expected: Vec<_> = ids(&events).into_iter().rev().collect();
    assert_eq!(ids(&walked), expected);
}

/// Each ancestor of a diamond comes once; ties at one depth go by lane
/// descending.
pub async fn ancestors_of_a_diamond_each_once<S: Store>(store: &S) {
    let g = diamond(store).await;
    let walked = ok(store.walk_ancestors(g.d.id(), 100).await);
    assert_eq!(ids(&walked), vec![g.d.id(), g.c.id(), g.b.id(), g.a.id()]);
}

/// A fan-in of several roots: all parents, by (lane, sequence) descending.
pub async fn ancestors_of_a_fan_in_order_by_lane_then_sequence<S: Store>(store: &S) {
    let r0 = root(store, DEFAULT_TENANT).await;
    let r1 = root(store, DEFAULT_TENANT).await;
    let r2 = put(
        store,
        DEFAULT_TENANT,
        &[],
        2,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;
    let merged = child(store, &[&r0, &r2, &r1]).await;
    let walked = ok(store.walk_ancestors(merged.id(), 100).await);
    assert_eq!(ids(&walked), vec![merged.id(), r2.id(), r1.id(), r0.id()]);
}

/// A limit smaller than the graph returns the first `limit` in order.
pub async fn ancestors_limit_smaller_than_graph<S: Store>(store: &S) {
    let g = diamond(store).await;
    assert_eq!(
        ids(&ok(store.walk_ancestors(g.d.id(), 2).await)),
        vec![g.d.id(), g.c.id()]
    );
    assert_eq!(
        ids(&ok(store.walk_ancestors(g.d.id(), 1).await)),
        vec![g.d.id()]
    );
}

/// A limit of 0 returns nothing.
pub async fn ancestors_limit_zero_is_empty<S: Store>(store: &S) {
    let g = diamond(store).await;
    assert!(ok(store.walk_ancestors(g.d.id(), 0).await).is_empty());
}

/// Walking from an unknown event is not-found.
pub async fn ancestors_of_unknown_is_not_found<S: Store>(store: &S) {
    let missing = Uuid::now_v7();
    assert_eq!(
        err(store.walk_ancestors(missing, 10).await),
        ErrorEffect::NotFound { event_id: missing }
    );
}

/// Each descendant of a diamond comes once, depth then lane ascending.
pub async fn descendants_of_a_diamond_each_once<S: Store>(store: &S) {
    let g = diamond(store).await;
    let walked = ok(store.walk_descendants(g.a.id(), 100).await);
    assert_eq!(ids(&walked), vec![g.a.id(), g.b.id(), g.c.id(), g.d.id()]);
    let from_c = ok(store.walk_descendants(g.c.id(), 100).await);
    assert_eq!(ids(&from_c), vec![g.c.id(), g.d.id()]);
}

/// Descendants are limited too, and a limit of 0 is empty.
pub async fn descendants_limit_and_zero<S: Store>(store: &S) {
    let events = line(store, DEFAULT_TENANT, 6).await;
    let walked = ok(store.walk_descendants(events[0].id(), 3).await);
    assert_eq!(ids(&walked), ids(&events[..3]));
    assert!(ok(store.walk_descendants(events[0].id(), 0).await).is_empty());
}

/// A leaf's descendants are itself; unknown is not-found.
pub async fn descendants_of_leaf_and_unknown<S: Store>(store: &S) {
    let g = diamond(store).await;
    assert_eq!(
        ids(&ok(store.walk_descendants(g.d.id(), 10).await)),
        vec![g.d.id()]
    );
    let missing = Uuid::now_v7();
    assert_eq!(
        err(store.walk_descendants(missing, 10).await),
        ErrorEffect::NotFound { event_id: missing }
    );
}

/// Limits above the documented maximum are capped, not refused: in a
/// line longer than [`MAX_LIMIT`], a walk with a larger limit returns
/// exactly `MAX_LIMIT` events, nearest first.
pub async fn huge_limit_is_capped<S: Store>(store: &S) {
    let length = MAX_LIMIT + 2;
    let ids: Vec<EventId> = (0..length).map(|_| Uuid::now_v7()).collect();
    let drafts: Vec<NewEvent<serde_json::Value>> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let draft = NewEvent::new(json!({ "n": n })).id(*id);
            match n.checked_sub(1) {
                Some(previous) => draft.parents([ids[previous]]),
                None => draft,
            }
        })
        .collect();
    for half in drafts.chunks(length.div_ceil(2)) {
        ok(store.append_new_batch(half.to_vec()).await);
    }
    let (root, tip) = (ids[0], ids[length - 1]);
    for limit in [usize::MAX, MAX_LIMIT + 1] {
        let up = ok(store.walk_ancestors(tip, limit).await);
        assert_eq!(up.len(), MAX_LIMIT, "ancestors with limit {limit}");
        assert_eq!(up[0].id(), tip);
        assert_eq!(up[MAX_LIMIT - 1].id(), ids[length - MAX_LIMIT]);
        let down = ok(store.walk_descendants(root, limit).await);
        assert_eq!(down.len(), MAX_LIMIT, "descendants with limit {limit}");
        assert_eq!(down[MAX_LIMIT - 1].id(), ids[MAX_LIMIT - 1]);
    }
}
