//! Correlation chains, kind queries and the acknowledgment queue (SPEC §3).

use eventdag::{DagPosition, ErrorEffect, EventFlags, EventKind, UpstreamSignal, DEFAULT_TENANT};
use uuid::Uuid;

use crate::support::{child, diamond, err, event, ids, ok, put, read, root, Store, TENANT_B};

/// A chain comes back in (depth, lane, sequence) order.
pub async fn correlation_chain_in_topological_order<S: Store>(store: &S) {
    let g = diamond(store).await;
    let unrelated = root(store, DEFAULT_TENANT).await;
    let chain = ok(store.find_correlation_chain(DEFAULT_TENANT, g.a.id()).await);
    assert_eq!(ids(&chain), vec![g.a.id(), g.b.id(), g.c.id(), g.d.id()]);
    assert!(!ids(&chain).contains(&unrelated.id()));
}

/// An unknown chain is empty, not an error.
pub async fn correlation_chain_unknown_is_empty<S: Store>(store: &S) {
    root(store, DEFAULT_TENANT).await;
    assert!(ok(store
        .find_correlation_chain(DEFAULT_TENANT, Uuid::now_v7())
        .await)
    .is_empty());
}

/// A chain never returns another tenant's events, even with the same
/// correlation id.
pub async fn correlation_chain_is_tenant_isolated<S: Store>(store: &S) {
    let shared = Uuid::now_v7();
    let mut mine = event(
        DEFAULT_TENANT,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    mine.header.correlation_id = shared;
    let mut theirs = event(
        TENANT_B,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    theirs.header.correlation_id = shared;
    let mine = ok(store.append(mine).await);
    let theirs = ok(store.append(theirs).await);
    assert_eq!(
        ids(&ok(store
            .find_correlation_chain(DEFAULT_TENANT, shared)
            .await)),
        vec![mine]
    );
    assert_eq!(
        ids(&ok(store.find_correlation_chain(TENANT_B, shared).await)),
        vec![theirs]
    );
}

/// Kind queries filter by kind and depth range, ordered by position.
pub async fn find_by_kind_filters_kind_and_depth<S: Store>(store: &S) {
    let a = put(
        store,
        DEFAULT_TENANT,
        &[],
        0,
        EventKind::NOTE,
        EventFlags::empty(),
    )
    .await;
    let b = put(
        store,
        DEFAULT_TENANT,
        &[&a],
        0,
        EventKind::NOTE,
        EventFlags::empty(),
    )
    .await;
    let c = put(
        store,
        DEFAULT_TENANT,
        &[&a],
        1,
        EventKind::NOTE,
        EventFlags::empty(),
    )
    .await;
    let other_kind = put(
        store,
        DEFAULT_TENANT,
        &[&b],
        0,
        EventKind::MESSAGE,
        EventFlags::empty(),
    )
    .await;
    let d = put(
        store,
        DEFAULT_TENANT,
        &[&other_kind],
        0,
        EventKind::NOTE,
        EventFlags::empty(),
    )
    .await;
    let all = ok(store.find_by_kind(EventKind::NOTE, 0, 10, 100).await);
    assert_eq!(ids(&all), vec![a.id(), b.id(), c.id(), d.id()]);
    let middle = ok(store.find_by_kind(EventKind::NOTE, 1, 2, 100).await);
    assert_eq!(ids(&middle), vec![b.id(), c.id()]);
    assert_eq!(
        ids(&ok(store
            .find_by_kind(EventKind::MESSAGE, 0, 10, 100)
            .await)),
        vec![other_kind.id()]
    );
    assert!(ok(store.find_by_kind(EventKind::NOTE, 4, 10, 100).await).is_empty());
    assert!(
        ok(store.find_by_kind(EventKind::NOTE, 3, 1, 100).await).is_empty(),
        "empty range"
    );
}

/// Kind queries honour the limit; 0 is empty.
pub async fn find_by_kind_limit_and_zero<S: Store>(store: &S) {
    let mut made = Vec::new();
    for _ in 0..4 {
        made.push(
            put(
                store,
                DEFAULT_TENANT,
                &[],
                0,
                EventKind::AGENT,
                EventFlags::empty(),
            )
            .await,
        );
    }
    assert_eq!(
        ids(&ok(store.find_by_kind(EventKind::AGENT, 0, 0, 2).await)),
        ids(&made[..2])
    );
    assert!(ok(store.find_by_kind(EventKind::AGENT, 0, 0, 0).await).is_empty());
}

/// The tenant-scoped kind query sees only that tenant.
pub async fn find_by_kind_for_tenant_is_isolated<S: Store>(store: &S) {
    let mine = put(
        store,
        DEFAULT_TENANT,
        &[],
        0,
        EventKind::LOCK,
        EventFlags::empty(),
    )
    .await;
    let theirs = put(
        store,
        TENANT_B,
        &[],
        0,
        EventKind::LOCK,
        EventFlags::empty(),
    )
    .await;
    let for_b = ok(store
        .find_by_kind_for_tenant(TENANT_B, EventKind::LOCK, 0, 5, 10)
        .await);
    assert_eq!(ids(&for_b), vec![theirs.id()]);
    let for_default = ok(store
        .find_by_kind_for_tenant(DEFAULT_TENANT, EventKind::LOCK, 0, 5, 10)
        .await);
    assert_eq!(ids(&for_default), vec![mine.id()]);
    assert_eq!(
        ok(store.find_by_kind(EventKind::LOCK, 0, 5, 10).await).len(),
        2
    );
}

/// Acknowledging sets the flag and takes the event off the queue.
pub async fn acknowledge_sets_flag_and_dequeues<S: Store>(store: &S) {
    let event = put(
        store,
        DEFAULT_TENANT,
        &[],
        0,
        EventKind::DATA,
        EventFlags::REQUIRES_ACK,
    )
    .await;
    assert!(!event.is_acknowledged());
    assert_eq!(ids(&ok(store.unacknowledged(10).await)), vec![event.id()]);
    ok(store.acknowledge(event.id(), false).await);
    let stored = read(store, event.id()).await;
    assert!(stored
        .header
        .flags
        .contains(EventFlags::ACKNOWLEDGED | EventFlags::REQUIRES_ACK));
    assert!(ok(store.unacknowledged(10).await).is_empty());
    assert_eq!(
        stored.hash, event.hash,
        "acknowledging does not change the hash"
    );
}

/// Acknowledging twice is fine and changes nothing more.
pub async fn acknowledge_is_idempotent<S: Store>(store: &S) {
    let event = put(
        store,
        DEFAULT_TENANT,
        &[],
        0,
        EventKind::DATA,
        EventFlags::REQUIRES_ACK,
    )
    .await;
    ok(store.acknowledge(event.id(), false).await);
    let once = read(store, event.id()).await;
    ok(store.acknowledge(event.id(), false).await);
    assert_eq!(read(store, event.id()).await, once);
}

/// Acknowledging an unknown event is not-found.
pub async fn acknowledge_unknown_is_not_found<S: Store>(store: &S) {
    let missing = Uuid::now_v7();
    assert_eq!(
        err(store.acknowledge(missing, true).await),
        ErrorEffect::NotFound { event_id: missing }
    );
}

/// The queue is oldest first (by timestamp), honours the limit and skips
/// events that need no ack.
pub async fn unacknowledged_oldest_first_with_limit<S: Store>(store: &S) {
    let mut appended = Vec::new();
    for (n, timestamp) in [(1u64, 3_000u64), (2, 1_000), (3, 2_000)] {
        let mut new = event(
            DEFAULT_TENANT,
            &[],
            DagPosition::new(0, 0, u32::try_from(n - 1).unwrap()),
            EventKind::DATA,
            EventFlags::REQUIRES_ACK,
            n,
        );
        new.header.timestamp = timestamp;
        appended.push(ok(store.append(new).await));
    }
    put(
        store,
        DEFAULT_TENANT,
        &[],
        0,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;
    let queue = ok(store.unacknowledged(10).await);
    assert_eq!(ids(&queue), vec![appended[1], appended[2], appended[0]]);
    assert_eq!(
        ids(&ok(store.unacknowledged(2).await)),
        vec![appended[1], appended[2]]
    );
    assert!(ok(store.unacknowledged(0).await).is_empty());
}

/// The tenant-scoped queue sees only its tenant.
pub async fn unacknowledged_for_tenant_is_isolated<S: Store>(store: &S) {
    let mine = put(
        store,
        DEFAULT_TENANT,
        &[],
        0,
        EventKind::DATA,
        EventFlags::REQUIRES_ACK,
    )
    .await;
    let theirs = put(
        store,
        TENANT_B,
        &[],
        0,
        EventKind::DATA,
        EventFlags::REQUIRES_ACK,
    )
    .await;
    assert_eq!(
        ids(&ok(store.unacknowledged_for_tenant(TENANT_B, 10).await)),
        vec![theirs.id()]
    );
    assert_eq!(
        ids(&ok(store
            .unacknowledged_for_tenant(DEFAULT_TENANT, 10)
            .await)),
        vec![mine.id()]
    );
}

/// Acknowledging with `send_upstream` delivers one `Ack` to every ancestor.
pub async fn ack_upstream_reaches_every_ancestor<S: Store>(store: &S) {
    let g = diamond(store).await;
    ok(store.acknowledge(g.d.id(), true).await);
    let sent = ok(store.signals_of(g.d.id(), 10).await);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].signal, UpstreamSignal::Ack { event_id: g.d.id() });
    assert_eq!(sent[0].from, g.d.id());
    assert_eq!(sent[0].delivered_to, vec![g.c.id(), g.b.id(), g.a.id()]);
    for ancestor in [&g.a, &g.b, &g.c] {
        let received = ok(store.signals_of(ancestor.id(), 10).await);
        assert_eq!(received.len(), 1, "each ancestor receives the ack once");
        assert_eq!(received[0].sequence, sent[0].sequence);
    }
    ok(store.acknowledge(g.d.id(), true).await);
    assert_eq!(
        ok(store.signals_of(g.a.id(), 10).await).len(),
        1,
        "a repeated ack sends nothing"
    );
}

/// Acknowledging without `send_upstream` sends nothing.
pub async fn ack_without_upstream_sends_nothing<S: Store>(store: &S) {
    let parent = root(store, DEFAULT_TENANT).await;
    let leaf = child(store, &[&parent]).await;
    ok(store.acknowledge(leaf.id(), false).await);
    assert!(ok(store.signals_of(parent.id(), 10).await).is_empty());
    assert!(ok(store.signals_after(DEFAULT_TENANT, 0, 10).await).is_empty());
}
