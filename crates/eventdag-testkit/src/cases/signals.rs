//! `signal_upstream` and its effects on chains and events (SPEC §3).

use std::time::Duration;

use eventdag::{
    now_micros, DagPosition, Effect, ErrorEffect, EventFlags, EventKind, UpstreamSignal,
    DEFAULT_TENANT,
};
use uuid::Uuid;

use crate::support::{child, diamond, err, event, ok, read, root, Store, TENANT_B};

/// Signalling from an unknown event is not-found, and nothing is stored.
pub async fn signal_from_unknown_is_not_found<S: Store>(store: &S) {
    let missing = Uuid::now_v7();
    let signal = UpstreamSignal::Backpressure {
        until: now_micros() + 60_000_000,
    };
    assert_eq!(
        err(store.signal_upstream(missing, signal).await),
        ErrorEffect::NotFound { event_id: missing }
    );
    assert!(ok(store.signals_after(DEFAULT_TENANT, 0, 10).await).is_empty());
}

/// A signal reaches every ancestor of a diamond once, most recent first,
/// and is listed for sender and receivers.
pub async fn signal_delivered_to_every_ancestor_once<S: Store>(store: &S) {
    let g = diamond(store).await;
    let signal = UpstreamSignal::ErrorPropagation {
        source_event_id: g.d.id(),
        error_code: 42,
        message: "tool failed".into(),
    };
    ok(store.signal_upstream(g.d.id(), signal.clone()).await);
    let records = ok(store.signals_after(DEFAULT_TENANT, 0, 10).await);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.signal, signal);
    assert_eq!(record.from, g.d.id());
    assert_eq!(record.correlation_id, g.a.id());
    assert_eq!(record.tenant_id, DEFAULT_TENANT);
    assert_eq!(record.delivered_to, vec![g.c.id(), g.b.id(), g.a.id()]);
    for id in [g.a.id(), g.b.id(), g.c.id(), g.d.id()] {
        assert_eq!(
            ok(store.signals_of(id, 10).await),
            records,
            "signals of {id}"
        );
    }
}

/// A signal from a root reaches nobody but is still stored.
pub async fn signal_from_root_is_stored_with_no_recipients<S: Store>(store: &S) {
    let lonely = root(store, DEFAULT_TENANT).await;
    ok(store
        .signal_upstream(
            lonely.id(),
            UpstreamSignal::Ack {
                event_id: lonely.id(),
            },
        )
        .await);
    let records = ok(store.signals_of(lonely.id(), 10).await);
    assert_eq!(records.len(), 1);
    assert!(records[0].delivered_to.is_empty());
}

/// After `Cancel`, appends into the chain are refused with the reason;
/// other chains go on.
pub async fn cancel_refuses_later_appends<S: Store>(store: &S) {
    let start = root(store, DEFAULT_TENANT).await;
    let step = child(store, &[&start]).await;
    let other = root(store, DEFAULT_TENANT).await;
    let cancel = UpstreamSignal::Cancel {
        correlation_id: start.id(),
        reason: "user aborted".into(),
    };
    ok(store.signal_upstream(step.id(), cancel).await);
    assert_eq!(
        ok(store.chain_state(DEFAULT_TENANT, start.id()).await)
            .cancelled
            .as_deref(),
        Some("user aborted")
    );
    let late = event(
        DEFAULT_TENANT,
        &[step.id()],
        DagPosition::new(2, 0, 3),
        EventKind::DATA,
        EventFlags::empty(),
        9,
    );
    let error = err(store.append(late.clone()).await);
    assert_eq!(
        error,
        ErrorEffect::ChainCancelled {
            event_id: late.id(),
            correlation_id: start.id(),
            reason: "user aborted".into()
        }
    );
    assert_eq!(error.code(), "cancelled");
    assert!(store.read(late.id()).await.is_err());
    child(store, &[&other]).await;
}

/// A cancel in one tenant does not touch the same chain id elsewhere.
pub async fn cancel_is_tenant_scoped<S: Store>(store: &S) {
    let mine = root(store, DEFAULT_TENANT).await;
    let cancel = UpstreamSignal::Cancel {
        correlation_id: mine.id(),
        reason: "stop".into(),
    };
    ok(store.signal_upstream(mine.id(), cancel).await);
    let mut theirs = event(
        TENANT_B,
        &[],
        DagPosition::root(),
        EventKind::DATA,
        EventFlags::empty(),
        1,
    );
    theirs.header.correlation_id = mine.id();
    ok(store.append(theirs).await);
    assert_eq!(
        ok(store.chain_state(TENANT_B, mine.id()).await).cancelled,
        None
    );
}

/// Under backpressure appends get `Retry` until the time has passed.
pub async fn backpressure_retries_until_time_passes<S: Store>(store: &S) {
    let start = root(store, DEFAULT_TENANT).await;
    let hold = Duration::from_millis(400);
    let until = now_micros() + u64::try_from(hold.as_micros()).unwrap();
    ok(store
        .signal_upstream(start.id(), UpstreamSignal::Backpressure { until })
        .await);
    let next = event(
        DEFAULT_TENANT,
        &[start.id()],
        DagPosition::new(1, 0, 1),
        EventKind::DATA,
        EventFlags::empty(),
        2,
    );
    match store.append(next.clone()).await {
        Effect::Retry { after, reason, .. } => {
            assert!(
                after <= hold && after > Duration::ZERO,
                "retry after {after:?}"
            );
            assert!(reason.contains(&start.id().to_string()), "{reason}");
        }
        other => panic!("expected Retry, got {other:?}"),
    }
    assert!(
        store.read(next.id()).await.is_err(),
        "nothing stored under backpressure"
    );
    tokio::time::sleep(hold + Duration::from_millis(50)).await;
    assert_eq!(ok(store.append(next.clone()).await), next.id());
}

/// Backpressure on one chain does not hold another.
pub async fn backpressure_holds_only_its_chain<S: Store>(store: &S) {
    let held = root(store, DEFAULT_TENANT).await;
    let free = root(store, DEFAULT_TENANT).await;
    let until = now_micros() + 60_000_000;
    ok(store
        .signal_upstream(held.id(), UpstreamSignal::Backpressure { until })
        .await);
    assert_eq!(
        ok(store.chain_state(DEFAULT_TENANT, held.id()).await).backpressure_until,
        Some(until)
    );
    child(store, &[&free]).await;
}

/// `CompensationComplete` sets COMPENSATED on the named event.
pub async fn compensation_complete_sets_flag<S: Store>(store: &S) {
    let start = root(store, DEFAULT_TENANT).await;
    let step = child(store, &[&start]).await;
    ok(store
        .signal_upstream(
            step.id(),
            UpstreamSignal::CompensationComplete {
                event_id: start.id(),
            },
        )
        .await);
    let stored = read(store, start.id()).await;
    assert!(stored.header.flags.contains(EventFlags::COMPENSATED));
    assert_eq!(stored.hash, start.hash);
    assert!(!read(store, step.id())
        .await
        .header
        .flags
        .contains(EventFlags::COMPENSATED));
}

/// `CompensationComplete` for an unknown or foreign event is not-found and
/// stores nothing.
pub async fn compensation_of_unknown_event_is_not_found<S: Store>(store: &S) {
    let start = root(store, DEFAULT_TENANT).await;
    let foreign = root(store, TENANT_B).await;
    for target in [Uuid::now_v7(), foreign.id()] {
        let signal = UpstreamSignal::CompensationComplete { event_id: target };
        assert_eq!(
            err(store.signal_upstream(start.id(), signal).await),
            ErrorEffect::NotFound { event_id: target }
        );
    }
    assert!(ok(store.signals_of(start.id(), 10).await).is_empty());
    assert!(!read(store, foreign.id())
        .await
        .header
        .flags
        .contains(EventFlags::COMPENSATED));
}

/// The signal log resumes from a sequence, in order.
pub async fn signals_after_resumes_from_sequence<S: Store>(store: &S) {
    let start = root(store, DEFAULT_TENANT).await;
    for code in 0..3 {
        let signal = UpstreamSignal::ErrorPropagation {
            source_event_id: start.id(),
            error_code: code,
            message: format!("e{code}"),
        };
        ok(store.signal_upstream(start.id(), signal).await);
    }
    let all = ok(store.signals_after(DEFAULT_TENANT, 0, 10).await);
    let sequences: Vec<u64> = all.iter().map(|r| r.sequence).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    assert_eq!(all.len(), 3);
    let rest = ok(store
        .signals_after(DEFAULT_TENANT, all[0].sequence, 10)
        .await);
    assert_eq!(rest, all[1..].to_vec());
    assert_eq!(
        ok(store
            .signals_after(DEFAULT_TENANT, all[0].sequence, 1)
            .await),
        all[1..2].to_vec()
    );
    assert!(ok(store.signals_after(TENANT_B, 0, 10).await).is_empty());
}
