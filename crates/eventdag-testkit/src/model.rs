//! Model-based property test: random operation sequences run against the
//! store under test and against a deliberately naive model (plain vectors,
//! full scans, sorting), compared after every step.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use eventdag::{
    DagPosition, Effect, ErrorEffect, Event, EventFlags, EventHeader, EventId, EventKind, TenantId,
    UpstreamSignal, DEFAULT_TENANT,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;
use uuid::Uuid;

use crate::support::{ids, ok, Store, TENANT_B};

const TENANTS: [TenantId; 2] = [DEFAULT_TENANT, TENANT_B];
const KINDS: [EventKind; 3] = [EventKind::DATA, EventKind::NOTE, EventKind::MESSAGE];
const ALL: usize = 10_000;

/// One random operation.
#[derive(Debug, Clone)]
pub enum Op {
    /// Append a root.
    Root {
        /// Index into the tenants.
        tenant: usize,
        /// Lane.
        lane: u32,
        /// Index into the kinds.
        kind: usize,
        /// REQUIRES_ACK.
        requires_ack: bool,
    },
    /// Append a child of one to three existing events of one tenant.
    Child {
        /// Picks of parents.
        parents: Vec<Index>,
        /// Lane, or the first parent's.
        lane: Option<u32>,
        /// Index into the kinds.
        kind: usize,
        /// REQUIRES_ACK.
        requires_ack: bool,
    },
    /// Acknowledge an event.
    Ack {
        /// Pick of the event.
        target: Index,
        /// Send `Ack` upstream.
        upstream: bool,
    },
    /// Cancel the chain of an event, signalling from it.
    Cancel {
        /// Pick of the event.
        target: Index,
    },
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 0..3u32, 0..3usize, any::<bool>()).prop_map(|(tenant, lane, kind, requires_ack)| Op::Root { tenant, lane, kind, requires_ack }),
        6 => (prop::collection::vec(any::<Index>(), 1..4), prop::option::of(0..3u32), 0..3usize, any::<bool>())
            .prop_map(|(parents, lane, kind, requires_ack)| Op::Child { parents, lane, kind, requires_ack }),
        2 => (any::<Index>(), any::<bool>()).prop_map(|(target, upstream)| Op::Ack { target, upstream }),
        1 => any::<Index>().prop_map(|target| Op::Cancel { target }),
    ]
}

/// Sequences of operations.
pub fn ops_strategy() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op_strategy(), 1..40)
}

struct ModelEvent {
    id: EventId,
    tenant: TenantId,
    parents: Vec<usize>,
    position: DagPosition,
    kind: EventKind,
    correlation: EventId,
    timestamp: u64,
    requires_ack: bool,
    acknowledged: bool,
}

#[derive(Default)]
struct Model {
    events: Vec<ModelEvent>,
    next_sequence: HashMap<(TenantId, u32), u32>,
    cancelled: HashSet<(TenantId, EventId)>,
    /// (tenant, sender, recipients in walk order)
    signals: Vec<(TenantId, EventId, Vec<EventId>)>,
}

fn sort_key(event: &ModelEvent) -> (u32, u32, u32, EventId) {
    let p = event.position;
    (p.depth, p.lane, p.sequence, event.id)
}

impl Model {
    fn ancestors(&self, from: usize) -> Vec<usize> {
        let mut found = HashSet::from([from]);
        let mut stack = vec![from];
        while let Some(next) = stack.pop() {
            for parent in &self.events[next].parents {
                if found.insert(*parent) {
                    stack.push(*parent);
                }
            }
        }
        let mut out: Vec<usize> = found.into_iter().collect();
        out.sort_by_key(|index| std::cmp::Reverse(sort_key(&self.events[*index])));
        out
    }

    fn descendants(&self, from: usize) -> Vec<usize> {
        let mut found = HashSet::from([from]);
        let mut changed = true;
        while changed {
            changed = false;
            for (index, event) in self.events.iter().enumerate() {
                if !found.contains(&index) && event.parents.iter().any(|p| found.contains(p)) {
                    found.insert(index);
                    changed = true;
                }
            }
        }
        let mut out: Vec<usize> = found.into_iter().collect();
        out.sort_by_key(|index| sort_key(&self.events[*index]));
        out
    }

    fn ids(&self, indexes: &[usize]) -> Vec<EventId> {
        indexes.iter().map(|i| self.events[*i].id).collect()
    }

    fn next_sequence(&mut self, tenant: TenantId, lane: u32) -> u32 {
        let next = self.next_sequence.entry((tenant, lane)).or_insert(0);
        let sequence = *next;
        *next += 1;
        sequence
    }
}

/// Runs `ops` against `store` and the model, comparing after each step.
pub async fn run_against_model<S: Store>(store: &S, ops: &[Op]) {
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let Some(probe) = apply(store, &mut model, op, step).await else {
            continue;
        };
        compare(store, &model, probe, step).await;
    }
}

async fn apply<S: Store>(store: &S, model: &mut Model, op: &Op, step: usize) -> Option<usize> {
    let timestamp = 1_000_000 + step as u64;
    match op {
        Op::Root {
            tenant,
            lane,
            kind,
            requires_ack,
        } => {
            let tenant = TENANTS[*tenant];
            let sequence = model
                .next_sequence
                .get(&(tenant, *lane))
                .copied()
                .unwrap_or(0);
            let new = model_event(
                tenant,
                vec![],
                DagPosition::new(0, *lane, sequence),
                KINDS[*kind],
                *requires_ack,
                EventId::nil(),
                timestamp,
            );
            let id = new.id();
            assert_eq!(ok(store.append(new).await), id, "step {step}: {op:?}");
            model.next_sequence(tenant, *lane);
            model.events.push(ModelEvent {
                id,
                tenant,
                parents: vec![],
                position: DagPosition::new(0, *lane, sequence),
                kind: KINDS[*kind],
                correlation: id,
                timestamp,
                requires_ack: *requires_ack,
                acknowledged: false,
            });
            Some(model.events.len() - 1)
        }
        Op::Child {
            parents,
            lane,
            kind,
            requires_ack,
        } => {
            if model.events.is_empty() {
                return None;
            }
            let first = parents[0].index(model.events.len());
            let tenant = model.events[first].tenant;
            let mut chosen = vec![first];
            for pick in &parents[1..] {
                let index = pick.index(model.events.len());
                if model.events[index].tenant == tenant && !chosen.contains(&index) {
                    chosen.push(index);
                }
            }
            let depth = chosen
                .iter()
                .map(|i| model.events[*i].position.depth)
                .max()
                .unwrap_or(0)
                + 1;
            let lane = lane.unwrap_or(model.events[first].position.lane);
            let sequence = model
                .next_sequence
                .get(&(tenant, lane))
                .copied()
                .unwrap_or(0);
            let correlation = model.events[first].correlation;
            let parent_ids = model.ids(&chosen);
            let position = DagPosition::new(depth, lane, sequence);
            let new = model_event(
                tenant,
                parent_ids,
                position,
                KINDS[*kind],
                *requires_ack,
                EventId::nil(),
                timestamp,
            );
            let id = new.id();
            let outcome = store.append(new).await;
            if model.cancelled.contains(&(tenant, correlation)) {
                assert!(
                    matches!(outcome, Effect::Err(ErrorEffect::ChainCancelled { .. })),
                    "step {step}: append into a cancelled chain gave {outcome:?}"
                );
                return Some(first);
            }
            assert_eq!(ok(outcome), id, "step {step}: {op:?}");
            model.next_sequence(tenant, lane);
            model.events.push(ModelEvent {
                id,
                tenant,
                parents: chosen,
                position,
                kind: KINDS[*kind],
                correlation,
                timestamp,
                requires_ack: *requires_ack,
                acknowledged: false,
            });
            Some(model.events.len() - 1)
        }
        Op::Ack { target, upstream } => {
            if model.events.is_empty() {
                return None;
            }
            let index = target.index(model.events.len());
            let id = model.events[index].id;
            ok(store.acknowledge(id, *upstream).await);
            if !model.events[index].acknowledged {
                model.events[index].acknowledged = true;
                if *upstream {
                    let recipients = model.ids(&model.ancestors(index)[1..]);
                    model
                        .signals
                        .push((model.events[index].tenant, id, recipients));
                }
            }
            Some(index)
        }
        Op::Cancel { target } => {
            if model.events.is_empty() {
                return None;
            }
            let index = target.index(model.events.len());
            let event = &model.events[index];
            let (tenant, correlation, id) = (event.tenant, event.correlation, event.id);
            let signal = UpstreamSignal::Cancel {
                correlation_id: correlation,
                reason: format!("step {step}"),
            };
            ok(store.signal_upstream(id, signal).await);
            model.cancelled.insert((tenant, correlation));
            let recipients = model.ids(&model.ancestors(index)[1..]);
            model.signals.push((tenant, id, recipients));
            Some(index)
        }
    }
}

fn model_event(
    tenant: TenantId,
    parents: Vec<EventId>,
    position: DagPosition,
    kind: EventKind,
    requires_ack: bool,
    correlation: EventId,
    timestamp: u64,
) -> Event<serde_json::Value> {
    let flags = if requires_ack {
        EventFlags::REQUIRES_ACK
    } else {
        EventFlags::empty()
    };
    let header = EventHeader::new(
        Uuid::now_v7(),
        correlation,
        timestamp,
        position,
        0,
        kind,
        flags,
    );
    Event::new(header, json!({"at": timestamp}))
        .with_tenant(tenant)
        .with_parents(parents)
}

async fn compare<S: Store>(store: &S, model: &Model, probe: usize, step: usize) {
    let event = &model.events[probe];
    let stored = ok(store.read(event.id).await);
    assert_eq!(
        stored.is_acknowledged(),
        event.acknowledged,
        "step {step}: acknowledged flag"
    );
    assert_eq!(
        stored.header.position, event.position,
        "step {step}: position"
    );
    assert_eq!(
        stored.header.correlation_id, event.correlation,
        "step {step}: correlation"
    );
    let ancestors = model.ids(&model.ancestors(probe));
    assert_eq!(
        ids(&ok(store.walk_ancestors(event.id, ALL).await)),
        ancestors,
        "step {step}: ancestors"
    );
    assert_eq!(
        ids(&ok(store.walk_ancestors(event.id, 2).await)),
        ancestors[..ancestors.len().min(2)].to_vec(),
        "step {step}: ancestors limit 2"
    );
    let descendants = model.ids(&model.descendants(probe));
    assert_eq!(
        ids(&ok(store.walk_descendants(event.id, ALL).await)),
        descendants,
        "step {step}: descendants"
    );
    let mut chain: Vec<&ModelEvent> = model
        .events
        .iter()
        .filter(|e| e.tenant == event.tenant && e.correlation == event.correlation)
        .collect();
    chain.sort_by_key(|e| sort_key(e));
    let chain: Vec<EventId> = chain.iter().map(|e| e.id).collect();
    assert_eq!(
        ids(&ok(store
            .find_correlation_chain(event.tenant, event.correlation)
            .await)),
        chain,
        "step {step}: chain"
    );
    let mut of_kind: Vec<&ModelEvent> = model
        .events
        .iter()
        .filter(|e| e.kind == event.kind && e.position.depth >= 1 && e.position.depth <= 3)
        .collect();
    of_kind.sort_by_key(|e| {
        (
            e.position.depth,
            e.position.lane,
            e.position.sequence,
            e.tenant,
        )
    });
    let of_kind: Vec<EventId> = of_kind.iter().map(|e| e.id).collect();
    assert_eq!(
        ids(&ok(store.find_by_kind(event.kind, 1, 3, ALL).await)),
        of_kind,
        "step {step}: find_by_kind"
    );
    let mut queue: Vec<&ModelEvent> = model
        .events
        .iter()
        .filter(|e| e.requires_ack && !e.acknowledged)
        .collect();
    queue.sort_by_key(|e| (e.timestamp, e.id));
    let queue: Vec<EventId> = queue.iter().map(|e| e.id).collect();
    assert_eq!(
        ids(&ok(store.unacknowledged(ALL).await)),
        queue,
        "step {step}: unacknowledged"
    );
    let signals: Vec<(EventId, Vec<EventId>)> = ok(store.signals_after(event.tenant, 0, ALL).await)
        .into_iter()
        .map(|r| (r.from, r.delivered_to))
        .collect();
    let expected: Vec<(EventId, Vec<EventId>)> = model
        .signals
        .iter()
        .filter(|s| s.0 == event.tenant)
        .map(|s| (s.1, s.2.clone()))
        .collect();
    assert_eq!(signals, expected, "step {step}: signals");
}

/// Runs the property test: `cases` random sequences, each on a fresh store
/// made by `factory` (which returns the store and a guard dropped after).
pub fn check_against_model<S, G, F, Fut>(runtime: &tokio::runtime::Runtime, cases: u32, factory: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = (S, G)>,
{
    let config = ProptestConfig {
        cases,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in ops_strategy())| {
        runtime.block_on(async {
            let (store, guard) = factory().await;
            run_against_model(&store, &ops).await;
            drop(guard);
        });
    });
}

/// How many random sequences to run: `EVENTDAG_PROPTEST_CASES`, default
/// `default`.
#[must_use]
pub fn cases_from_env(default: u32) -> u32 {
    std::env::var("EVENTDAG_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
