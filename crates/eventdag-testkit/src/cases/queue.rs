//! Work queues (SPEC §9): claims, leases, redelivery, dead letters, and
//! competing consumers. Leases in these cases are short (a few hundred
//! ms) so that expiry is seen without long sleeps; every sleep waits past
//! a deadline by a margin, never for something to "probably" happen.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventdag::{
    AckLease, ClaimRequest, Claimed, Effect, ErrorEffect, Event, EventDagExt, EventFlags, EventId,
    EventKind, LeaseRef, NewEvent, TenantId, UpstreamSignal, WorkQueue, DEAD_LETTER_ERROR_CODE,
    DEFAULT_TENANT, MAX_CLAIM,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{err, ok, root, Store, TENANT_B};

/// The store type the queue cases take.
pub trait QueueStore: Store + WorkQueue {}
impl<S: Store + WorkQueue> QueueStore for S {}

/// A lease long enough never to expire during a case.
const LONG: Duration = Duration::from_secs(60);
/// A lease that expires within a case.
const SHORT: Duration = Duration::from_millis(250);
/// How long to sleep to be past a `SHORT` deadline.
const PAST_SHORT: Duration = Duration::from_millis(400);

/// Appends `count` REQUIRES_ACK events of `kind` under `parent` (or as
/// roots), in batches, and returns them as stored, in queue order.
pub async fn work<S: QueueStore + ?Sized>(
    store: &S,
    tenant: TenantId,
    parent: Option<EventId>,
    kind: EventKind,
    count: usize,
) -> Vec<Event<Value>> {
    let mut stored = Vec::with_capacity(count);
    for start in (0..count).step_by(1_000) {
        let drafts = (start..count.min(start + 1_000))
            .map(|n| {
                let draft = NewEvent::new(json!({ "job": n }))
                    .tenant(tenant)
                    .kind(kind)
                    .flags(EventFlags::REQUIRES_ACK);
                match parent {
                    Some(parent) => draft.parents([parent]),
                    None => draft,
                }
            })
            .collect();
        stored.extend(ok(store.append_new_batch(drafts).await));
    }
    // Queue order is (timestamp, id), as `unacknowledged`.
    stored.sort_by_key(|event| (event.header.timestamp, event.id()));
    stored
}

fn claimed_ids(claimed: &[Claimed<Value>]) -> Vec<EventId> {
    claimed.iter().map(|claimed| claimed.event.id()).collect()
}

fn lease_of(tenant: TenantId, claimed: &Claimed<Value>) -> LeaseRef {
    LeaseRef {
        tenant_id: tenant,
        event_id: claimed.event.id(),
        token: claimed.lease.token,
    }
}

async fn claim<S: QueueStore>(
    store: &S,
    consumer: &str,
    limit: usize,
    lease: Duration,
) -> Vec<Claimed<Value>> {
    ok(store
        .claim(ClaimRequest::new(DEFAULT_TENANT, consumer, limit, lease))
        .await)
}

/// A claim hands out the oldest unleased events, each to one consumer;
/// events without REQUIRES_ACK and other tenants' events are never
/// handed out.
pub async fn claim_leases_oldest_first_once<S: QueueStore>(store: &S) {
    let plain = root(store, DEFAULT_TENANT).await;
    let jobs = work(store, DEFAULT_TENANT, None, EventKind::DATA, 5).await;
    work(store, TENANT_B, None, EventKind::DATA, 2).await;
    let before = eventdag::now_micros();
    let first = claim(store, "a", 3, LONG).await;
    assert_eq!(
        claimed_ids(&first),
        jobs[..3].iter().map(Event::id).collect::<Vec<_>>()
    );
    for claimed in &first {
        assert_eq!(claimed.attempt, 1);
        assert_eq!(claimed.lease.consumer, "a");
        assert!(
            claimed.lease.deadline >= before + 59_000_000,
            "deadline {claimed:?}"
        );
    }
    let second = claim(store, "b", 10, LONG).await;
    assert_eq!(
        claimed_ids(&second),
        jobs[3..].iter().map(Event::id).collect::<Vec<_>>()
    );
    assert!(claim(store, "c", 10, LONG).await.is_empty());
    assert!(!claimed_ids(&first).contains(&plain.id()));
    let entry = ok(store.queue_entry(DEFAULT_TENANT, jobs[0].id()).await).unwrap();
    assert_eq!(entry.attempts, 1);
    assert_eq!(entry.lease.unwrap().token, first[0].lease.token);
    // Leases do not hide events from `unacknowledged`: it lists, the
    // queue hands out.
    assert_eq!(
        ok(store.unacknowledged_for_tenant(DEFAULT_TENANT, 10).await).len(),
        5
    );
}

/// Kind and chain filters narrow a claim; a limit of 0 claims nothing;
/// bad requests are refused naming the field.
pub async fn claim_filters_and_refusals<S: QueueStore>(store: &S) {
    let chain = root(store, DEFAULT_TENANT).await;
    let notes = work(store, DEFAULT_TENANT, Some(chain.id()), EventKind::NOTE, 2).await;
    let data = work(store, DEFAULT_TENANT, None, EventKind::DATA, 2).await;
    let by_kind = ok(store
        .claim(ClaimRequest::new(DEFAULT_TENANT, "a", 10, LONG).kind(EventKind::DATA))
        .await);
    assert_eq!(
        claimed_ids(&by_kind),
        data.iter().map(Event::id).collect::<Vec<_>>()
    );
    let by_chain = ok(store
        .claim(ClaimRequest::new(DEFAULT_TENANT, "a", 10, LONG).correlation(chain.id()))
        .await);
    assert_eq!(
        claimed_ids(&by_chain),
        notes.iter().map(Event::id).collect::<Vec<_>>()
    );
    work(store, DEFAULT_TENANT, None, EventKind::DATA, 1).await;
    assert!(claim(store, "a", 0, LONG).await.is_empty());
    let refusals = [
        (ClaimRequest::new(DEFAULT_TENANT, "", 1, LONG), "consumer"),
        (
            ClaimRequest::new(DEFAULT_TENANT, "x".repeat(201), 1, LONG),
            "consumer",
        ),
        (
            ClaimRequest::new(DEFAULT_TENANT, "a", 1, Duration::ZERO),
            "lease",
        ),
        (
            ClaimRequest::new(DEFAULT_TENANT, "a", 1, Duration::from_secs(86_401)),
            "lease",
        ),
        (
            ClaimRequest::new(DEFAULT_TENANT, "a", 1, LONG).max_attempts(0),
            "max_attempts",
        ),
    ];
    for (request, field) in refusals {
        match err(store.claim(request).await) {
            ErrorEffect::InvalidInput { field: named, .. } => assert_eq!(named, field),
            other => panic!("expected invalid {field}, got {other:?}"),
        }
    }
    // The refused claims leased nothing.
    assert_eq!(claim(store, "b", 10, LONG).await.len(), 1);
}

/// An expired lease makes the event claimable again with its attempt
/// raised; the first holder's token no longer extends, releases or
/// acknowledges it while the second lease is valid; forcing does.
pub async fn expired_lease_is_redelivered<S: QueueStore>(store: &S) {
    let jobs = work(store, DEFAULT_TENANT, None, EventKind::DATA, 1).await;
    let first = claim(store, "a", 1, SHORT).await;
    assert_eq!(claimed_ids(&first), vec![jobs[0].id()]);
    assert!(
        claim(store, "b", 1, LONG).await.is_empty(),
        "leased while valid"
    );
    tokio::time::sleep(PAST_SHORT).await;
    let second = claim(store, "b", 1, LONG).await;
    assert_eq!(claimed_ids(&second), vec![jobs[0].id()]);
    assert_eq!(second[0].attempt, 2);
    assert_ne!(second[0].lease.token, first[0].lease.token);
    let stale = lease_of(DEFAULT_TENANT, &first[0]);
    assert!(matches!(
        err(store.extend_lease(stale, LONG).await),
        ErrorEffect::LeaseConflict { .. }
    ));
    assert!(matches!(
        err(store.release_lease(stale, Duration::ZERO).await),
        ErrorEffect::LeaseConflict { .. }
    ));
    let refused = store
        .acknowledge_leased(
            DEFAULT_TENANT,
            jobs[0].id(),
            AckLease::Token(stale.token),
            false,
        )
        .await;
    assert!(matches!(err(refused), ErrorEffect::LeaseConflict { .. }));
    assert!(!ok(store.read(jobs[0].id()).await)
        .header
        .flags
        .contains(EventFlags::ACKNOWLEDGED));
    ok(store
        .acknowledge_leased(DEFAULT_TENANT, jobs[0].id(), AckLease::Forced, false)
        .await);
    assert!(ok(store.read(jobs[0].id()).await)
        .header
        .flags
        .contains(EventFlags::ACKNOWLEDGED));
}

/// An extended lease outlives its first deadline.
pub async fn extended_lease_outlives_first_deadline<S: QueueStore>(store: &S) {
    work(store, DEFAULT_TENANT, None, EventKind::DATA, 1).await;
    let first = claim(store, "a", 1, SHORT).await;
    let extended = ok(store
        .extend_lease(lease_of(DEFAULT_TENANT, &first[0]), LONG)
        .await);
    assert_eq!(extended.token, first[0].lease.token);
    assert!(extended.deadline > first[0].lease.deadline + 50_000_000);
    tokio::time::sleep(PAST_SHORT).await;
    assert!(
        claim(store, "b", 1, LONG).await.is_empty(),
        "extended lease was taken"
    );
    let entry = ok(store.queue_entry(DEFAULT_TENANT, first[0].event.id()).await).unwrap();
    assert_eq!(entry.lease.unwrap().deadline, extended.deadline);
}

/// A release makes the event claimable at once, or after its delay; each
/// delivery counts as an attempt.
pub async fn release_now_or_after_delay<S: QueueStore>(store: &S) {
    let jobs = work(store, DEFAULT_TENANT, None, EventKind::DATA, 1).await;
    let first = claim(store, "a", 1, LONG).await;
    ok(store
        .release_lease(lease_of(DEFAULT_TENANT, &first[0]), Duration::ZERO)
        .await);
    let second = claim(store, "b", 1, LONG).await;
    assert_eq!(claimed_ids(&second), vec![jobs[0].id()]);
    assert_eq!(second[0].attempt, 2);
    ok(store
        .release_lease(lease_of(DEFAULT_TENANT, &second[0]), SHORT)
        .await);
    assert!(
        claim(store, "c", 1, LONG).await.is_empty(),
        "claimed during its delay"
    );
    tokio::time::sleep(PAST_SHORT).await;
    let third = claim(store, "c", 1, LONG).await;
    assert_eq!(claimed_ids(&third), vec![jobs[0].id()]);
    assert_eq!(third[0].attempt, 3);
    let bad = store
        .release_lease(
            lease_of(DEFAULT_TENANT, &third[0]),
            Duration::from_secs(90_000),
        )
        .await;
    assert!(matches!(err(bad), ErrorEffect::InvalidInput { .. }));
}

/// Acknowledging with the lease's token ends it and dequeues the event;
/// another token is refused while the lease is valid; the SPEC §1
/// `acknowledge` is the forced form and ends queue state too.
pub async fn leased_ack_ends_the_lease<S: QueueStore>(store: &S) {
    let parent = root(store, DEFAULT_TENANT).await;
    let jobs = work(store, DEFAULT_TENANT, Some(parent.id()), EventKind::DATA, 2).await;
    let claimed = claim(store, "a", 2, LONG).await;
    let intruder = store
        .acknowledge_leased(
            DEFAULT_TENANT,
            jobs[0].id(),
            AckLease::Token(Uuid::now_v7()),
            true,
        )
        .await;
    assert!(matches!(err(intruder), ErrorEffect::LeaseConflict { .. }));
    ok(store
        .acknowledge_leased(
            DEFAULT_TENANT,
            jobs[0].id(),
            AckLease::Token(claimed[0].lease.token),
            true,
        )
        .await);
    let acked = ok(store.read(jobs[0].id()).await);
    assert!(acked.header.flags.contains(EventFlags::ACKNOWLEDGED));
    let signals = ok(store.signals_of(parent.id(), 10).await);
    assert_eq!(signals.len(), 1);
    assert_eq!(
        signals[0].signal,
        UpstreamSignal::Ack {
            event_id: jobs[0].id()
        }
    );
    assert_eq!(
        ok(store.queue_entry(DEFAULT_TENANT, jobs[0].id()).await),
        None
    );
    // Idempotent, and the lease is gone for its holder too.
    ok(store
        .acknowledge_leased(
            DEFAULT_TENANT,
            jobs[0].id(),
            AckLease::Token(claimed[0].lease.token),
            true,
        )
        .await);
    assert_eq!(ok(store.signals_of(parent.id(), 10).await).len(), 1);
    assert!(matches!(
        err(store
            .extend_lease(lease_of(DEFAULT_TENANT, &claimed[0]), LONG)
            .await),
        ErrorEffect::LeaseConflict { .. }
    ));
    // The store-wide acknowledgment is forced.
    ok(store.acknowledge(jobs[1].id(), false).await);
    assert_eq!(
        ok(store.queue_entry(DEFAULT_TENANT, jobs[1].id()).await),
        None
    );
    assert!(ok(store.unacknowledged_for_tenant(DEFAULT_TENANT, 10).await).is_empty());
    assert!(claim(store, "b", 10, SHORT).await.is_empty());
}

/// After `max_attempts` deliveries the next claim dead-letters the event:
/// out of the queue, listed apart, an `ErrorPropagation` upstream; a
/// requeue puts it back with its attempts reset.
pub async fn dead_letter_after_attempts_then_requeue<S: QueueStore>(store: &S) {
    let parent = root(store, DEFAULT_TENANT).await;
    let jobs = work(store, DEFAULT_TENANT, Some(parent.id()), EventKind::DATA, 2).await;
    let request = || {
        ClaimRequest::new(DEFAULT_TENANT, "a", 1, LONG)
            .max_attempts(2)
            .signal_dead_letters(true)
    };
    for attempt in 1..=2 {
        let claimed = ok(store.claim(request()).await);
        assert_eq!(claimed_ids(&claimed), vec![jobs[0].id()]);
        assert_eq!(claimed[0].attempt, attempt);
        ok(store
            .release_lease(lease_of(DEFAULT_TENANT, &claimed[0]), Duration::ZERO)
            .await);
    }
    // The third claim passes the spent event (dead-lettering it) and
    // hands out the next one.
    let next = ok(store.claim(request()).await);
    assert_eq!(claimed_ids(&next), vec![jobs[1].id()]);
    let dead = ok(store.dead_letters(DEFAULT_TENANT, None, 10).await);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event.id(), jobs[0].id());
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead[0].last_consumer.as_deref(), Some("a"));
    assert!(ok(store
        .dead_letters(DEFAULT_TENANT, Some(jobs[0].id()), 10)
        .await)
    .is_empty());
    assert!(ok(store.dead_letters(TENANT_B, None, 10).await).is_empty());
    let signals = ok(store.signals_of(parent.id(), 10).await);
    assert_eq!(signals.len(), 1);
    match &signals[0].signal {
        UpstreamSignal::ErrorPropagation {
            source_event_id,
            error_code,
            ..
        } => {
            assert_eq!(
                (*source_event_id, *error_code),
                (jobs[0].id(), DEAD_LETTER_ERROR_CODE)
            );
        }
        other => panic!("expected ErrorPropagation, got {other:?}"),
    }
    assert_eq!(signals[0].from, jobs[0].id());
    ok(store
        .release_lease(lease_of(DEFAULT_TENANT, &next[0]), Duration::ZERO)
        .await);
    // Dead letters stay unacknowledged but are not handed out.
    let again = ok(store.claim(request().max_attempts(5)).await);
    assert_eq!(claimed_ids(&again), vec![jobs[1].id()]);
    ok(store.requeue(DEFAULT_TENANT, jobs[0].id()).await);
    assert!(ok(store.dead_letters(DEFAULT_TENANT, None, 10).await).is_empty());
    let requeued = ok(store.claim(request()).await);
    assert_eq!(claimed_ids(&requeued), vec![jobs[0].id()]);
    assert_eq!(requeued[0].attempt, 1);
    assert!(matches!(
        err(store.requeue(DEFAULT_TENANT, jobs[1].id()).await),
        ErrorEffect::NotFound { .. }
    ));
}

/// Another tenant's events are not found by any queue call.
pub async fn queue_calls_are_tenant_scoped<S: QueueStore>(store: &S) {
    let jobs = work(store, DEFAULT_TENANT, None, EventKind::DATA, 1).await;
    let claimed = claim(store, "a", 1, LONG).await;
    let foreign = LeaseRef {
        tenant_id: TENANT_B,
        ..lease_of(DEFAULT_TENANT, &claimed[0])
    };
    let not_found =
        |error: ErrorEffect| assert!(matches!(error, ErrorEffect::NotFound { .. }), "{error:?}");
    not_found(err(store.extend_lease(foreign, LONG).await));
    not_found(err(store.release_lease(foreign, Duration::ZERO).await));
    not_found(err(store
        .acknowledge_leased(TENANT_B, jobs[0].id(), AckLease::Forced, false)
        .await));
    not_found(err(store.requeue(TENANT_B, jobs[0].id()).await));
    not_found(err(store.queue_entry(TENANT_B, jobs[0].id()).await));
    assert!(ok(store
        .claim(ClaimRequest::new(TENANT_B, "b", 10, LONG))
        .await)
    .is_empty());
    assert!(!ok(store.read(jobs[0].id()).await)
        .header
        .flags
        .contains(EventFlags::ACKNOWLEDGED));
}

/// Per event, each lease: (the claim had returned by, deadline, attempt).
type LeaseLog = HashMap<EventId, Vec<(u64, u64, u32)>>;

/// Events the competing-consumers race appends (per backend: see the
/// macro's caller).
pub const RACE_EVENTS: usize = 10_000;
/// Consumers in the race.
pub const CONSUMERS: usize = 8;

/// `CONSUMERS` tasks claim and acknowledge `events` REQUIRES_ACK events
/// with leases that cannot expire during the race: every event is handed
/// out exactly once (a second delivery would be a lease given to two
/// consumers while valid), every acknowledgment with its token succeeds,
/// and the queue ends empty.
pub async fn competing_consumers_ack_each_once<S: QueueStore>(store: Arc<S>, events: usize) {
    let jobs = work(&*store, DEFAULT_TENANT, None, EventKind::DATA, events).await;
    let delivered: Arc<Mutex<HashMap<EventId, usize>>> = Arc::default();
    let mut tasks = Vec::new();
    for consumer in 0..CONSUMERS {
        let (store, delivered) = (Arc::clone(&store), Arc::clone(&delivered));
        tasks.push(tokio::spawn(async move {
            let name = format!("consumer-{consumer}");
            let mut acked = 0usize;
            loop {
                let claimed = ok(store
                    .claim(ClaimRequest::new(DEFAULT_TENANT, name.clone(), 50, LONG))
                    .await);
                if claimed.is_empty() {
                    return acked;
                }
                for claimed in claimed {
                    assert_eq!(claimed.attempt, 1, "{} delivered twice", claimed.event.id());
                    *delivered
                        .lock()
                        .unwrap()
                        .entry(claimed.event.id())
                        .or_default() += 1;
                    ok(store
                        .acknowledge_leased(
                            DEFAULT_TENANT,
                            claimed.event.id(),
                            AckLease::Token(claimed.lease.token),
                            false,
                        )
                        .await);
                    acked += 1;
                }
            }
        }));
    }
    let mut total = 0;
    let mut busy = 0;
    for task in tasks {
        let acked = task.await.expect("consumer panicked");
        total += acked;
        busy += usize::from(acked > 0);
    }
    let delivered = std::mem::take(&mut *delivered.lock().unwrap());
    assert_eq!(total, events);
    assert_eq!(delivered.len(), events);
    assert!(delivered.values().all(|&times| times == 1));
    let expected: HashSet<EventId> = jobs.iter().map(Event::id).collect();
    assert_eq!(delivered.keys().copied().collect::<HashSet<_>>(), expected);
    assert!(
        busy > 1,
        "only one consumer got work: the race did not race"
    );
    assert!(ok(store.unacknowledged_for_tenant(DEFAULT_TENANT, 10).await).is_empty());
    assert!(ok(store
        .claim(ClaimRequest::new(DEFAULT_TENANT, "late", MAX_CLAIM, LONG))
        .await)
    .is_empty());
}

/// `CONSUMERS` tasks race over events with short leases while some
/// consumers abandon work (never acknowledge nor release): abandoned
/// events come back after their lease with the attempt raised, and at no
/// moment do two valid leases of one event overlap (each lease's
/// [claim time, deadline] interval is disjoint from the others').
pub async fn abandoned_work_is_redelivered_without_overlap<S: QueueStore>(store: Arc<S>) {
    let events = 200;
    work(&*store, DEFAULT_TENANT, None, EventKind::DATA, events).await;
    let leases: Arc<Mutex<LeaseLog>> = Arc::default();
    let mut tasks = Vec::new();
    for consumer in 0..CONSUMERS {
        let (store, leases) = (Arc::clone(&store), Arc::clone(&leases));
        tasks.push(tokio::spawn(async move {
            let name = format!("consumer-{consumer}");
            let mut idle_rounds = 0;
            let mut n = 0u64;
            while idle_rounds < 8 {
                let claimed = ok(store
                    .claim(
                        ClaimRequest::new(DEFAULT_TENANT, name.clone(), 10, SHORT)
                            .max_attempts(100),
                    )
                    .await);
                let returned = eventdag::now_micros();
                if claimed.is_empty() {
                    idle_rounds += 1;
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    continue;
                }
                idle_rounds = 0;
                for claimed in claimed {
                    leases
                        .lock()
                        .unwrap()
                        .entry(claimed.event.id())
                        .or_default()
                        .push((returned, claimed.lease.deadline, claimed.attempt));
                    n += 1;
                    // Consumers 0 and 1 abandon every third event.
                    if consumer < 2 && n % 3 == 0 {
                        continue;
                    }
                    let acked = store
                        .acknowledge_leased(
                            DEFAULT_TENANT,
                            claimed.event.id(),
                            AckLease::Token(claimed.lease.token),
                            false,
                        )
                        .await;
                    match acked {
                        Effect::Ok(()) => {}
                        // Too slow: the lease ran out and another
                        // consumer holds the event now. Only allowed
                        // once the deadline has passed.
                        Effect::Err(ErrorEffect::LeaseConflict { .. }) => assert!(
                            eventdag::now_micros() >= claimed.lease.deadline,
                            "{}: refused while its lease was valid",
                            claimed.event.id()
                        ),
                        other => panic!("acknowledge: {other:?}"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("consumer panicked");
    }
    let leases = std::mem::take(&mut *leases.lock().unwrap());
    assert_eq!(leases.len(), events);
    let mut redelivered = 0;
    for (id, list) in leases.iter() {
        let mut list = list.clone();
        list.sort_by_key(|&(_, _, attempt)| attempt);
        for (index, pair) in list.windows(2).enumerate() {
            let ((_, deadline, _), (returned, _, attempt)) = (pair[0], pair[1]);
            assert_eq!(attempt as usize, index + 2, "{id}: attempts {list:?}");
            // The later claim ran at or after the earlier deadline, so it
            // returned after it (the store's clock is this process's
            // clock, or PostgreSQL's on the same machine).
            assert!(deadline <= returned, "{id}: overlapping leases {list:?}");
        }
        redelivered += usize::from(list.len() > 1);
    }
    assert!(redelivered > 0, "no abandoned event came back");
    assert!(ok(store.unacknowledged_for_tenant(DEFAULT_TENANT, 10).await).is_empty());
}
