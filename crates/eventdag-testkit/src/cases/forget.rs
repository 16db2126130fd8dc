//! Forgetting (SPEC §10): redaction that verification survives,
//! retention of whole chains, and tenant erasure.

use std::future::Future;
use std::pin::Pin;

use eventdag::retention::{apply_retention, plan_retention};
use eventdag::{
    now_micros, ApiKeyRecord, ChainRemoval, ChainState, ErrorEffect, Event, EventDagExt,
    EventFlags, EventId, EventKind, Forgetting, HashVersion, KeptReason, NewEvent, RetentionPolicy,
    RetentionRule, TenantRecord, UpstreamSignal, DEFAULT_TENANT,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{diamond, err, ids, ok, read, Store, TENANT_B, TENANT_C};

/// The store type the forgetting cases take.
pub trait ForgetStore: Store + Forgetting {}
impl<S: Store + Forgetting> ForgetStore for S {}

const DAY: u64 = 86_400 * 1_000_000;

/// A redacted event reads without its payload and with the mark; header,
/// parents and hash are unchanged, and the stored bytes are gone.
pub async fn redacted_event_reads_without_payload_with_mark<S: ForgetStore>(store: &S) {
    let g = diamond(store).await;
    assert_eq!(g.b.hash_version, HashVersion::CURRENT);
    let before = now_micros();
    let redacted = ok(store
        .redact(DEFAULT_TENANT, g.b.id(), "GDPR request 17".into())
        .await);
    let mark = redacted
        .redaction
        .clone()
        .expect("the answer carries the mark");
    assert_eq!(mark.reason, "GDPR request 17");
    assert!(mark.redacted_at >= before, "redacted_at is the store's now");
    assert_eq!(mark.payload_hash, eventdag::payload_hash(br#"{"n":1}"#));
    assert_eq!(redacted.payload, Value::Null);
    assert_eq!(
        (redacted.header, &redacted.parents, redacted.hash),
        (g.b.header, &g.b.parents, g.b.hash)
    );
    assert_eq!(read(store, g.b.id()).await, redacted);
    let record = ok(store.stored_record(g.b.id()).await);
    assert!(record.payload_bytes.is_empty(), "no payload byte is kept");
    assert_eq!(record.redaction, Some(mark));
    assert_eq!(read(store, g.c.id()).await, g.c, "a neighbour is untouched");
}

/// Walks, chains, kind queries and the commit log carry on through a
/// redacted event and return it with its mark.
pub async fn walks_chains_and_logs_carry_on_through_redaction<S: ForgetStore>(store: &S) {
    let g = diamond(store).await;
    let ancestors_before = ids(&ok(store.walk_ancestors(g.d.id(), 10).await));
    ok(store.redact(DEFAULT_TENANT, g.a.id(), "erase".into()).await);
    let ancestors = ok(store.walk_ancestors(g.d.id(), 10).await);
    assert_eq!(ids(&ancestors), ancestors_before);
    let root = ancestors.last().expect("the root is reached");
    assert!(root.is_redacted() && root.payload == Value::Null);
    let descendants = ok(store.walk_descendants(g.a.id(), 10).await);
    assert_eq!(
        ids(&descendants),
        vec![g.a.id(), g.b.id(), g.c.id(), g.d.id()]
    );
    let chain = ok(store.find_correlation_chain(DEFAULT_TENANT, g.a.id()).await);
    assert_eq!(chain.len(), 4);
    assert!(chain[0].is_redacted() && !chain[1].is_redacted());
    let log = ok(store.events_after(DEFAULT_TENANT, 0, 10).await);
    assert_eq!(log.len(), 4);
    assert!(log[0].event.is_redacted() && log[0].event.payload == Value::Null);
    let kind = ok(store.find_by_kind(EventKind::DATA, 0, 0, 10).await);
    assert_eq!(ids(&kind), vec![g.a.id()]);
    assert!(kind[0].is_redacted());
    let child = ok(store
        .append_new(NewEvent::new(json!({"after": "redaction"})).parents([g.a.id()]))
        .await);
    assert_eq!(
        child.header.position.depth, 1,
        "a redacted event is still a parent"
    );
}

/// Verification passes for redacted events and everything below them, and
/// reports them as redacted.
pub async fn verify_reports_redacted_events_intact<S: ForgetStore>(store: &S) {
    let g = diamond(store).await;
    ok(store.redact(DEFAULT_TENANT, g.a.id(), "erase".into()).await);
    ok(store.redact(DEFAULT_TENANT, g.c.id(), "erase".into()).await);
    let chain = ok(store.verify_chain(DEFAULT_TENANT, g.a.id()).await);
    assert!(chain.is_intact(), "{chain:?}");
    assert_eq!(chain.checked, 4);
    assert_eq!(chain.redacted, vec![g.a.id(), g.c.id()]);
    assert!(chain.unverifiable.is_empty());
    let one = ok(store.verify_event(g.a.id()).await);
    assert!(one.is_intact() && one.redacted == vec![g.a.id()]);
    let below = ok(store.verify_event(g.d.id()).await);
    assert!(below.is_intact() && below.redacted.is_empty());
}

/// With a redacted event in the chain, a tampered neighbour is still
/// found. `corrupt` changes an event's stored payload bytes behind the
/// store's back.
pub async fn verify_finds_tampering_beside_redaction<S, F>(store: &S, corrupt: F)
where
    S: ForgetStore,
    F: for<'a> Fn(&'a S, EventId) -> Pin<Box<dyn Future<Output = ()> + 'a>>,
{
    let g = diamond(store).await;
    ok(store.redact(DEFAULT_TENANT, g.b.id(), "erase".into()).await);
    corrupt(store, g.c.id()).await;
    let chain = ok(store.verify_chain(DEFAULT_TENANT, g.a.id()).await);
    let mismatch = chain.first_mismatch.expect("the tampered event is found");
    assert_eq!(mismatch.event_id, g.c.id());
    assert_eq!(chain.redacted, vec![g.b.id()]);
    assert!(ok(store.verify_event(g.b.id()).await).is_intact());
}

/// A second redaction keeps the first mark; bad reasons, unknown ids and
/// another tenant's events are refused and change nothing.
pub async fn redaction_is_idempotent_and_checked<S: ForgetStore>(store: &S) {
    let g = diamond(store).await;
    let first = ok(store.redact(DEFAULT_TENANT, g.b.id(), "first".into()).await);
    let second = ok(store
        .redact(DEFAULT_TENANT, g.b.id(), "second".into())
        .await);
    assert_eq!(second, first, "the first mark stays");
    assert_eq!(
        err(store.redact(TENANT_B, g.c.id(), "x".into()).await),
        ErrorEffect::NotFound { event_id: g.c.id() },
        "another tenant's event is not found"
    );
    let missing = Uuid::now_v7();
    assert_eq!(
        err(store.redact(DEFAULT_TENANT, missing, "x".into()).await),
        ErrorEffect::NotFound { event_id: missing }
    );
    for reason in [String::new(), "x".repeat(1001)] {
        let refusal = err(store.redact(DEFAULT_TENANT, g.c.id(), reason).await);
        assert!(
            matches!(&refusal, ErrorEffect::InvalidInput { field, .. } if field == "reason"),
            "{refusal:?}"
        );
    }
    assert_eq!(read(store, g.c.id()).await, g.c, "refusals change nothing");
}

/// A producer's retry of a redacted event is idempotent and does not bring
/// the payload back; another payload under the same id still conflicts.
pub async fn reappend_after_redaction_stays_redacted<S: ForgetStore>(store: &S) {
    let id = Uuid::now_v7();
    let draft = NewEvent::new(json!({"email": "ada@example.com"})).id(id);
    ok(store.append_new(draft.clone()).await);
    ok(store.redact(DEFAULT_TENANT, id, "erase".into()).await);
    let again = ok(store.append_new(draft.clone()).await);
    assert!(again.is_redacted(), "the retry's answer carries the mark");
    let stored = read(store, id).await;
    assert!(stored.is_redacted() && stored.payload == Value::Null);
    let other = NewEvent {
        payload: json!({"email": "other@example.com"}),
        ..draft
    };
    assert!(matches!(
        err(store.append_new(other).await),
        ErrorEffect::IdConflict { .. }
    ));
}

/// Appends a root of `tenant` at `timestamp` with `flags` and `kind`.
async fn old_root<S: ForgetStore>(
    store: &S,
    tenant: eventdag::TenantId,
    timestamp: u64,
    kind: EventKind,
    flags: EventFlags,
) -> Event<Value> {
    ok(store
        .append_new(
            NewEvent::new(json!({"root": true}))
                .tenant(tenant)
                .timestamp(timestamp)
                .kind(kind)
                .flags(flags),
        )
        .await)
}

/// Appends a child of `parent` at `timestamp`, in `correlation` when given.
async fn old_child<S: ForgetStore>(
    store: &S,
    parent: &Event<Value>,
    timestamp: u64,
    correlation: Option<EventId>,
    flags: EventFlags,
) -> Event<Value> {
    let mut draft = NewEvent::new(json!({"child": true}))
        .tenant(parent.tenant_id)
        .parents([parent.id()])
        .timestamp(timestamp)
        .flags(flags);
    if let Some(correlation) = correlation {
        draft = draft.correlation(correlation);
    }
    ok(store.append_new(draft).await)
}

/// A dry run lists what a policy removes and why other old chains stay; a
/// run removes exactly that, with the signals its events sent, and no
/// other tenant's events.
pub async fn retention_plans_then_removes_whole_chains<S: ForgetStore>(store: &S) {
    let now = now_micros();
    let old = now - 10 * DAY;
    let t = TENANT_B;
    // Old and acknowledged: goes (and its upstream Ack signal with it).
    let gone = old_root(store, t, old, EventKind::DATA, EventFlags::empty()).await;
    let gone_child = old_child(store, &gone, old + 1, None, EventFlags::REQUIRES_ACK).await;
    ok(store.acknowledge(gone_child.id(), true).await);
    // Old but waiting for acknowledgment: kept.
    let waiting = old_root(store, t, old, EventKind::DATA, EventFlags::REQUIRES_ACK).await;
    // Young: not a candidate at all.
    let young = old_root(store, t, now, EventKind::DATA, EventFlags::empty()).await;
    // Old, but a young event of another chain names it as parent: kept.
    let depended = old_root(store, t, old, EventKind::DATA, EventFlags::empty()).await;
    let outside = old_child(
        store,
        &depended,
        now,
        Some(Uuid::now_v7()),
        EventFlags::empty(),
    )
    .await;
    // Two old chains, the second naming the first as parent: both go,
    // the dependent one first.
    let upstream = old_root(store, t, old, EventKind::DATA, EventFlags::empty()).await;
    let downstream = old_child(
        store,
        &upstream,
        old + 2,
        Some(Uuid::now_v7()),
        EventFlags::empty(),
    )
    .await;
    // Old, but its kind's rule keeps 30 days: not a candidate.
    let audit = old_root(store, t, old, EventKind::NOTE, EventFlags::empty()).await;
    // Another tenant's old chain: never touched.
    let other = old_root(
        store,
        DEFAULT_TENANT,
        old,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;

    let policy = RetentionPolicy {
        rules: vec![
            RetentionRule {
                kind: Some(EventKind::NOTE),
                max_age_seconds: 30 * 86_400,
            },
            RetentionRule {
                kind: None,
                max_age_seconds: 86_400,
            },
        ],
    };
    let plan = ok(plan_retention(store, t, &policy, now).await);
    let planned: Vec<EventId> = plan.remove.iter().map(|p| p.correlation_id).collect();
    let mut expected = vec![gone.id(), upstream.id(), downstream.header.correlation_id];
    expected.sort();
    let mut sorted = planned.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "{plan:?}");
    let position = |id: EventId| planned.iter().position(|p| *p == id);
    assert!(
        position(downstream.header.correlation_id) < position(upstream.id()),
        "a dependent chain is removed first: {planned:?}"
    );
    let gone_plan = plan.remove.iter().find(|p| p.correlation_id == gone.id());
    assert_eq!(gone_plan.map(|p| p.events), Some(2));
    let mut kept = plan.kept.clone();
    kept.sort_by_key(|k| k.correlation_id);
    let mut expected_kept = vec![
        (
            waiting.id(),
            KeptReason::Unacknowledged {
                event_id: waiting.id(),
            },
        ),
        (
            depended.id(),
            KeptReason::Dependent {
                child: outside.id(),
                parent: depended.id(),
            },
        ),
    ];
    expected_kept.sort_by_key(|k| k.0);
    assert_eq!(
        kept.into_iter()
            .map(|k| (k.correlation_id, k.reason))
            .collect::<Vec<_>>(),
        expected_kept
    );
    // The dry run changed nothing.
    assert_eq!(read(store, gone.id()).await, gone);

    let mut archived: Vec<EventId> = Vec::new();
    let mut archive = |events: &[Event<Value>]| {
        archived.extend(events.iter().map(Event::id));
        Ok(())
    };
    let report = ok(apply_retention(store, &plan, Some(&mut archive)).await);
    assert_eq!((report.removed_chains, report.removed_events), (3, 4));
    assert_eq!(archived.len(), 4, "every removed event was archived first");
    for id in [gone.id(), gone_child.id(), upstream.id(), downstream.id()] {
        assert_eq!(
            err(store.read(id).await),
            ErrorEffect::NotFound { event_id: id }
        );
    }
    assert!(ok(store.find_correlation_chain(t, gone.id()).await).is_empty());
    let log: Vec<EventId> = ok(store.events_after(t, 0, 100).await)
        .into_iter()
        .map(|c| c.event.id())
        .collect();
    assert_eq!(
        log,
        vec![
            waiting.id(),
            young.id(),
            depended.id(),
            outside.id(),
            audit.id()
        ]
    );
    let signals = ok(store.signals_after(t, 0, 100).await);
    assert!(
        signals.iter().all(|s| s.from != gone_child.id()),
        "signals sent from removed events are gone: {signals:?}"
    );
    assert_eq!(read(store, other.id()).await, other);
    assert_eq!(read(store, depended.id()).await, depended);
    // The removed positions are not handed out again.
    assert_eq!(
        ok(store.next_position_for_tenant(t, None, 0).await).sequence,
        audit.header.position.sequence + 1
    );
    // A chain too young for the limit the caller gives is kept whole.
    assert_eq!(
        ok(store.remove_chain(t, young.id(), now - DAY).await),
        ChainRemoval::Kept {
            reason: KeptReason::TooYoung {
                event_id: young.id()
            }
        }
    );
    assert_eq!(
        ok(store.remove_chain(t, gone.id(), now).await),
        ChainRemoval::Kept {
            reason: KeptReason::Empty
        }
    );
}

/// Policies are stored per tenant, checked, listed and removed.
pub async fn retention_policies_are_stored_per_tenant<S: ForgetStore>(store: &S) {
    let policy = RetentionPolicy {
        rules: vec![RetentionRule {
            kind: None,
            max_age_seconds: 3600,
        }],
    };
    ok(store
        .set_retention_policy(TENANT_B, Some(policy.clone()))
        .await);
    assert_eq!(
        ok(store.retention_policies().await),
        vec![(TENANT_B, policy)]
    );
    let refused = err(store
        .set_retention_policy(TENANT_C, Some(RetentionPolicy::default()))
        .await);
    assert!(
        matches!(refused, ErrorEffect::InvalidInput { .. }),
        "{refused:?}"
    );
    ok(store.set_retention_policy(TENANT_B, None).await);
    assert!(ok(store.retention_policies().await).is_empty());
}

/// Erasing a tenant removes its events, signals, chain state, lanes,
/// policy, keys and registry entry, and nothing of another tenant.
pub async fn erase_tenant_removes_everything_of_it<S: ForgetStore>(store: &S) {
    let t = TENANT_C;
    ok(store
        .create_tenant(TenantRecord {
            tenant_id: t,
            name: "leaving".into(),
            created_at: 1,
        })
        .await);
    ok(store
        .put_api_key(ApiKeyRecord {
            prefix: "edk_leaving".into(),
            tenant_id: t,
            key_hash: [7; 32],
            created_at: 1,
            revoked: false,
        })
        .await);
    let root = old_root(store, t, now_micros(), EventKind::DATA, EventFlags::empty()).await;
    let child = old_child(store, &root, now_micros(), None, EventFlags::REQUIRES_ACK).await;
    ok(store.acknowledge(child.id(), true).await);
    ok(store
        .signal_upstream(
            child.id(),
            UpstreamSignal::Cancel {
                correlation_id: root.id(),
                reason: "leaving".into(),
            },
        )
        .await);
    ok(store
        .set_retention_policy(
            t,
            Some(RetentionPolicy {
                rules: vec![RetentionRule {
                    kind: None,
                    max_age_seconds: 60,
                }],
            }),
        )
        .await);
    let stays = old_root(
        store,
        TENANT_B,
        now_micros(),
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;

    let erased = ok(store.erase_tenant(t).await);
    assert_eq!(
        (erased.events, erased.api_keys, erased.registered),
        (2, 1, true)
    );
    for id in [root.id(), child.id()] {
        assert_eq!(
            err(store.read(id).await),
            ErrorEffect::NotFound { event_id: id }
        );
    }
    assert!(ok(store.events_after(t, 0, 10).await).is_empty());
    assert!(ok(store.signals_after(t, 0, 10).await).is_empty());
    assert_eq!(
        ok(store.chain_state(t, root.id()).await),
        ChainState::default()
    );
    assert_eq!(
        ok(store.next_position_for_tenant(t, None, 0).await).sequence,
        0
    );
    assert!(ok(store.retention_policies().await).is_empty());
    assert!(ok(store.find_api_key("edk_leaving").await).is_none());
    assert!(ok(store.list_tenants().await)
        .iter()
        .all(|r| r.tenant_id != t));
    assert_eq!(read(store, stays.id()).await, stays);
    let again = ok(store.erase_tenant(t).await);
    assert_eq!(
        (again.events, again.api_keys, again.registered),
        (0, 0, false)
    );
}
