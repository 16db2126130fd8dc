//! Two tiered nodes on one PostgreSQL share one queue (SPEC §9): a lease
//! taken on one is honoured by the other, a token works on either, and an
//! acknowledgment through the queue on one is seen on the other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use eventdag::{
    AckLease, ClaimRequest, EventDag, EventDagExt, EventFlags, LeaseRef, NewEvent, WorkQueue,
    DEFAULT_TENANT,
};
use eventdag_tiered::TieredDag;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_leases_and_acknowledgments() {
    let (a, guard) = common::fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let b: TieredDag<Value> =
        TieredDag::open_with(dir.path(), &guard.database.url(), common::test_options())
            .await
            .unwrap();
    assert!(b.wait_fresh(Duration::from_secs(10)).await);
    let drafts = (0..4)
        .map(|n| NewEvent::new(json!({ "job": n })).flags(EventFlags::REQUIRES_ACK))
        .collect();
    let jobs = a.append_new_batch(drafts).await.ok().unwrap();
    let lease = Duration::from_secs(60);
    let on_a = a
        .claim(ClaimRequest::new(DEFAULT_TENANT, "a", 2, lease))
        .await
        .ok()
        .unwrap();
    let on_b = b
        .claim(ClaimRequest::new(DEFAULT_TENANT, "b", 10, lease))
        .await
        .ok()
        .unwrap();
    let ids = |claimed: &[eventdag::Claimed<Value>]| {
        claimed.iter().map(|c| c.event.id()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&on_a), vec![jobs[0].id(), jobs[1].id()]);
    assert_eq!(
        ids(&on_b),
        vec![jobs[2].id(), jobs[3].id()],
        "b got a's leased events"
    );
    // A's token extends on B: the lease is the database's, not a node's.
    let reference = LeaseRef {
        tenant_id: DEFAULT_TENANT,
        event_id: jobs[0].id(),
        token: on_a[0].lease.token,
    };
    assert!(b.extend_lease(reference, lease).await.is_ok());
    // B's intruding acknowledgment is refused; A's goes through and B sees it.
    let intruder = b
        .acknowledge_leased(
            DEFAULT_TENANT,
            jobs[0].id(),
            AckLease::Token(on_b[0].lease.token),
            false,
        )
        .await;
    assert!(matches!(
        intruder.err(),
        Some(eventdag::ErrorEffect::LeaseConflict { .. })
    ));
    a.acknowledge_leased(
        DEFAULT_TENANT,
        jobs[0].id(),
        AckLease::Token(on_a[0].lease.token),
        false,
    )
    .await
    .ok()
    .unwrap();
    let started = std::time::Instant::now();
    loop {
        let seen = b.read(jobs[0].id()).await.ok().unwrap();
        if seen.header.flags.contains(EventFlags::ACKNOWLEDGED) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "b never saw the acknowledgment"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        b.queue_entry(DEFAULT_TENANT, jobs[0].id())
            .await
            .ok()
            .unwrap(),
        None
    );
    drop(b);
    drop(a);
    drop(guard);
}
