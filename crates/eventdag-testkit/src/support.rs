//! Small helpers the cases share: building headers and graphs, and
//! unwrapping effects with messages that say what was expected.

use eventdag::{
    DagPosition, DagStore, Effect, ErrorEffect, Event, EventDag, EventFlags, EventHeader, EventId,
    EventKind, TenantId, TenantStore,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// The store type every case takes: events and the tenant registry.
pub trait Store: DagStore<Payload = Value> + TenantStore + 'static {}
impl<S: DagStore<Payload = Value> + TenantStore + 'static> Store for S {}

/// A second tenant for isolation cases.
pub const TENANT_B: TenantId = Uuid::from_u128(0x0b0b_0b0b_0000_4000_8000_0000_0000_000b);
/// A third tenant.
pub const TENANT_C: TenantId = Uuid::from_u128(0x0c0c_0c0c_0000_4000_8000_0000_0000_000c);

/// The value of an `Ok` effect; panics with the effect otherwise.
#[track_caller]
pub fn ok<T: std::fmt::Debug>(effect: Effect<T>) -> T {
    match effect {
        Effect::Ok(value) => value,
        other => panic!("expected Ok, got {other:?}"),
    }
}

/// The error of an `Err` effect; panics with the effect otherwise.
#[track_caller]
pub fn err<T: std::fmt::Debug>(effect: Effect<T>) -> ErrorEffect {
    match effect {
        Effect::Err(error) => error,
        other => panic!("expected Err, got {other:?}"),
    }
}

/// A header with a fresh v7 id, nil correlation, timestamp 0.
#[must_use]
pub fn header(position: DagPosition, kind: EventKind, flags: EventFlags) -> EventHeader {
    EventHeader::new(Uuid::now_v7(), Uuid::nil(), 0, position, 0, kind, flags)
}

/// An event ready to append: payload `{"n": n}`.
#[must_use]
pub fn event(
    tenant: TenantId,
    parents: &[EventId],
    position: DagPosition,
    kind: EventKind,
    flags: EventFlags,
    n: u64,
) -> Event<Value> {
    Event::new(header(position, kind, flags), json!({ "n": n }))
        .with_tenant(tenant)
        .with_parents(parents.to_vec())
}

/// Appends an event under `parents` on `lane` at the position the store
/// says is next, and returns it as stored.
pub async fn put<S: Store>(
    store: &S,
    tenant: TenantId,
    parents: &[&Event<Value>],
    lane: u32,
    kind: EventKind,
    flags: EventFlags,
) -> Event<Value> {
    let depth = parents
        .iter()
        .map(|parent| parent.header.position.depth + 1)
        .max()
        .unwrap_or(0);
    let next = ok(store.next_position_for_tenant(tenant, None, lane).await);
    let parent_ids: Vec<EventId> = parents.iter().map(|parent| parent.id()).collect();
    let n = u64::from(next.sequence) + 1000 * u64::from(lane);
    let new = event(
        tenant,
        &parent_ids,
        DagPosition::new(depth, lane, next.sequence),
        kind,
        flags,
        n,
    );
    let id = ok(store.append(new).await);
    ok(store.read(id).await)
}

/// A root of `tenant` on lane 0 with kind DATA.
pub async fn root<S: Store>(store: &S, tenant: TenantId) -> Event<Value> {
    put(store, tenant, &[], 0, EventKind::DATA, EventFlags::empty()).await
}

/// A child on the first parent's lane with kind DATA.
pub async fn child<S: Store>(store: &S, parents: &[&Event<Value>]) -> Event<Value> {
    let lane = parents.first().map_or(0, |p| p.header.position.lane);
    let tenant = parents.first().map_or(Uuid::nil(), |p| p.tenant_id);
    put(
        store,
        tenant,
        parents,
        lane,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await
}

/// The diamond A → {B (lane 0), C (lane 1)} → D, in the default tenant.
pub struct Diamond {
    /// The root.
    pub a: Event<Value>,
    /// Left, lane 0.
    pub b: Event<Value>,
    /// Right, lane 1.
    pub c: Event<Value>,
    /// The merge of B and C, lane 0.
    pub d: Event<Value>,
}

/// Builds a [`Diamond`].
pub async fn diamond<S: Store>(store: &S) -> Diamond {
    let a = root(store, Uuid::nil()).await;
    let b = child(store, &[&a]).await;
    let c = put(
        store,
        Uuid::nil(),
        &[&a],
        1,
        EventKind::DATA,
        EventFlags::empty(),
    )
    .await;
    let d = child(store, &[&b, &c]).await;
    Diamond { a, b, c, d }
}

/// The ids of events, for comparing orders.
#[must_use]
pub fn ids(events: &[Event<Value>]) -> Vec<EventId> {
    events.iter().map(Event::id).collect()
}

/// A linear chain of `length` events on lane 0 of `tenant`.
pub async fn line<S: Store>(store: &S, tenant: TenantId, length: usize) -> Vec<Event<Value>> {
    let mut events: Vec<Event<Value>> = Vec::with_capacity(length);
    for _ in 0..length {
        let next = match events.last() {
            None => root(store, tenant).await,
            Some(last) => child(store, &[last]).await,
        };
        events.push(next);
    }
    events
}

/// Reads an event that must exist.
pub async fn read<S: EventDag<Payload = Value>>(store: &S, id: EventId) -> Event<Value> {
    ok(store.read(id).await)
}

/// Appends `event` with its depth and sequence assigned by the store, on
/// the lane it carries; answers its id.
pub async fn assigned<S: Store + ?Sized>(store: &S, event: Event<Value>) -> Effect<EventId> {
    eventdag::backend::single_id(assigned_batch_events(store, vec![event]).await)
}

/// Appends `events` all or none with positions assigned by the store, on
/// the lanes they carry; answers their ids.
pub async fn assigned_batch<S: Store + ?Sized>(
    store: &S,
    events: Vec<Event<Value>>,
) -> Effect<Vec<EventId>> {
    assigned_batch_events(store, events)
        .await
        .map(|stored| stored.iter().map(Event::id).collect())
}

async fn assigned_batch_events<S: Store + ?Sized>(
    store: &S,
    events: Vec<Event<Value>>,
) -> Effect<Vec<Event<Value>>> {
    let drafts = events
        .into_iter()
        .map(|event| eventdag::NewEvent::from(event).assigned())
        .collect();
    store.append_events(drafts).await
}
