//! Retention (SPEC §10): which whole correlation chains a tenant's policy
//! removes now, and removing them. One implementation for every backend:
//! the plan is read through [`DagStore`], each removal is
//! [`Forgetting::remove_chain`], which checks the rule again inside its
//! write transaction (so a chain that gained a young event or an outside
//! child since the plan is kept, never half removed).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::{
    ChainRemoval, DagStore, Effect, ErrorEffect, Event, EventId, EventKind, Forgetting, KeptReason,
    RetentionPolicy, TenantId, MAX_LIMIT,
};

/// A chain the plan removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRemoval {
    /// The chain.
    pub correlation_id: EventId,
    /// How many events it holds.
    pub events: usize,
    /// Its newest event's timestamp, µs.
    pub newest_timestamp: u64,
    /// The kind of its shallowest event, which chose the rule.
    pub root_kind: EventKind,
    /// The limit its rule sets: every event is older than this, µs.
    pub older_than: u64,
}

/// A chain old enough for its rule that is kept anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptChain {
    /// The chain.
    pub correlation_id: EventId,
    /// Why.
    #[serde(flatten)]
    pub reason: KeptReason,
}

/// What a policy removes from one tenant now (a dry run prints this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPlan {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The time the ages were measured from, µs.
    pub now: u64,
    /// How many events the plan read.
    pub scanned_events: u64,
    /// The chains to remove, each before the chains it depends on.
    pub remove: Vec<PlannedRemoval>,
    /// Chains old enough but kept: waiting for acknowledgment, or named
    /// as parent by a chain that stays.
    pub kept: Vec<KeptChain>,
}

/// What a retention run did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RetentionReport {
    /// Chains removed.
    pub removed_chains: usize,
    /// Events removed.
    pub removed_events: usize,
    /// Chains planned but kept by the check inside the write (changed
    /// since the plan), and the plan's own kept chains.
    pub kept: Vec<KeptChain>,
}

/// What the scan learns of one chain.
struct ChainScan {
    events: usize,
    newest: u64,
    root: (u32, EventKind),
    waiting: Option<EventId>,
    /// The first outside event naming an event of this chain as parent,
    /// by the chain that outside event belongs to: (child, parent).
    dependents: BTreeMap<EventId, (EventId, EventId)>,
}

/// Reads the tenant's whole log (pages of [`MAX_LIMIT`]) and plans what
/// `policy` removes at `now` (µs). Memory grows with the tenant's event
/// count (one id pair per event).
pub async fn plan_retention<S: DagStore + ?Sized>(
    store: &S,
    tenant_id: TenantId,
    policy: &RetentionPolicy,
    now: u64,
) -> Effect<RetentionPlan> {
    let mut chain_of: HashMap<EventId, EventId> = HashMap::new();
    let mut chains: HashMap<EventId, ChainScan> = HashMap::new();
    let mut after = 0;
    let mut scanned = 0u64;
    loop {
        let page = match store
            .events_after(tenant_id, after, MAX_LIMIT)
            .await
            .branch()
        {
            Ok(page) => page,
            Err(effect) => return effect,
        };
        let Some(last) = page.last() else { break };
        after = last.cursor;
        for entry in &page {
            scanned += 1;
            note_event(&entry.event, &mut chain_of, &mut chains);
        }
    }
    let mut candidates: BTreeMap<EventId, PlannedRemoval> = BTreeMap::new();
    let mut kept = Vec::new();
    for (correlation_id, scan) in &chains {
        let Some(rule) = policy.rule_for(scan.root.1) else {
            continue;
        };
        let older_than = now.saturating_sub(rule.max_age_seconds.saturating_mul(1_000_000));
        if scan.newest >= older_than {
            continue;
        }
        if let Some(event_id) = scan.waiting {
            kept.push(KeptChain {
                correlation_id: *correlation_id,
                reason: KeptReason::Unacknowledged { event_id },
            });
            continue;
        }
        candidates.insert(
            *correlation_id,
            PlannedRemoval {
                correlation_id: *correlation_id,
                events: scan.events,
                newest_timestamp: scan.newest,
                root_kind: scan.root.1,
                older_than,
            },
        );
    }
    // A chain goes only if every chain depending on it goes too; repeat
    // until no candidate is blocked by a chain that stays.
    loop {
        let blocked: Vec<(EventId, EventId, EventId)> = candidates
            .keys()
            .filter_map(|id| {
                chains.get(id).and_then(|scan| {
                    scan.dependents
                        .iter()
                        .find(|(chain, _)| !candidates.contains_key(chain))
                        .map(|(_, (child, parent))| (*id, *child, *parent))
                })
            })
            .collect();
        if blocked.is_empty() {
            break;
        }
        for (id, child, parent) in blocked {
            candidates.remove(&id);
            kept.push(KeptChain {
                correlation_id: id,
                reason: KeptReason::Dependent { child, parent },
            });
        }
    }
    kept.sort_by_key(|k| k.correlation_id);
    Effect::Ok(RetentionPlan {
        tenant_id,
        now,
        scanned_events: scanned,
        remove: dependents_first(candidates, &chains),
        kept,
    })
}

fn note_event<P>(
    event: &Event<P>,
    chain_of: &mut HashMap<EventId, EventId>,
    chains: &mut HashMap<EventId, ChainScan>,
) {
    let header = &event.header;
    let correlation_id = header.correlation_id;
    chain_of.insert(header.event_id, correlation_id);
    let depth = header.position.depth;
    let scan = chains.entry(correlation_id).or_insert(ChainScan {
        events: 0,
        newest: 0,
        root: (depth, header.event_kind),
        waiting: None,
        dependents: BTreeMap::new(),
    });
    scan.events += 1;
    scan.newest = scan.newest.max(header.timestamp);
    if depth < scan.root.0 {
        scan.root = (depth, header.event_kind);
    }
    if scan.waiting.is_none() && header.flags.awaits_ack() {
        scan.waiting = Some(header.event_id);
    }
    for parent in &event.parents {
        // Parents are the same tenant's and committed earlier, so the
        // scan has seen them.
        let Some(parent_chain) = chain_of.get(parent).copied() else {
            continue;
        };
        if parent_chain != correlation_id {
            if let Some(parent_scan) = chains.get_mut(&parent_chain) {
                parent_scan
                    .dependents
                    .entry(correlation_id)
                    .or_insert((header.event_id, *parent));
            }
        }
    }
}

/// Orders the removals so that a chain comes before every chain it
/// depends on (whose events it names as parents): the store refuses to
/// remove a chain while an outside child exists.
fn dependents_first(
    candidates: BTreeMap<EventId, PlannedRemoval>,
    chains: &HashMap<EventId, ChainScan>,
) -> Vec<PlannedRemoval> {
    let mut order = Vec::with_capacity(candidates.len());
    let mut placed: HashSet<EventId> = HashSet::new();
    let mut remaining: Vec<EventId> = candidates.keys().copied().collect();
    while !remaining.is_empty() {
        let before = remaining.len();
        remaining.retain(|id| {
            let ready = chains.get(id).is_none_or(|scan| {
                scan.dependents
                    .keys()
                    .all(|dependent| placed.contains(dependent) || dependent == id)
            });
            if ready {
                placed.insert(*id);
                order.push(*id);
            }
            !ready
        });
        if remaining.len() == before {
            // Chains depending on each other in a cycle cannot happen (a
            // parent is always older than its child), but never loop.
            order.append(&mut remaining);
        }
    }
    let mut candidates = candidates;
    order
        .into_iter()
        .filter_map(|id| candidates.remove(&id))
        .collect()
}

/// Receives each chain's events before the chain is removed (to archive
/// them); an error stops the run.
pub type Archive<'a, P> = dyn FnMut(&[Event<P>]) -> Result<(), ErrorEffect> + Send + 'a;

/// Removes what `plan` lists, each chain in its own write. When `archive`
/// is given, each chain's events are handed to it (in topological order)
/// before the chain is removed; an archive error stops the run before
/// that chain is touched.
pub async fn apply_retention<S: Forgetting + ?Sized>(
    store: &S,
    plan: &RetentionPlan,
    mut archive: Option<&mut Archive<'_, S::Payload>>,
) -> Effect<RetentionReport> {
    let mut report = RetentionReport {
        kept: plan.kept.clone(),
        ..RetentionReport::default()
    };
    for planned in &plan.remove {
        if let Some(archive) = archive.as_mut() {
            let events = match store
                .find_correlation_chain(plan.tenant_id, planned.correlation_id)
                .await
                .branch()
            {
                Ok(events) => events,
                Err(effect) => return effect,
            };
            if let Err(error) = archive(&events) {
                return Effect::Err(error);
            }
        }
        match store
            .remove_chain(plan.tenant_id, planned.correlation_id, planned.older_than)
            .await
            .branch()
        {
            Ok(ChainRemoval::Removed { events }) => {
                report.removed_chains += 1;
                report.removed_events += events;
            }
            Ok(ChainRemoval::Kept { reason }) => report.kept.push(KeptChain {
                correlation_id: planned.correlation_id,
                reason,
            }),
            Err(effect) => return effect,
        }
    }
    Effect::Ok(report)
}
