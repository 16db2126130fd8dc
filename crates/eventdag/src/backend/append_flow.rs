//! The one append flow (SPEC §3): every rule, in one order, for a batch
//! of one or many, over [`AppendTxn`] — the handful of primitives a
//! backend answers inside its own write transaction.
//!
//! Order per event: idempotent re-append (stored, or earlier in the
//! batch; checked first, SPEC §3) → the storage-free refusals of
//! `prepare` → parents (exist, same tenant, depth; lane and correlation
//! settled from the first) → chain state (cancelled: `Err`; backpressure:
//! held) → sequence (checked or assigned) → seal → insert. The flow keeps
//! the batch's own events and lane counters itself, so a backend's
//! lookups never need to see the transaction's uncommitted writes (the
//! PostgreSQL store answers them from what it read before).

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::rules::{
    check_batch_size, check_chain, check_parents, check_sequence, compare_with_stored, in_batch,
    prepare, resolved_correlation, resolved_lane, seal, AppendLimits, Held, ParentView, Prepared,
};
use crate::store::StoredRecord;
use crate::{ChainState, ErrorEffect, Event, EventId, NewEvent, TenantId};

/// What a backend answers inside its write transaction for the append
/// flow. Each method reads or writes committed state only: the flow
/// itself accounts for the earlier events of the batch.
pub trait AppendTxn<P> {
    /// The backend's failure; domain refusals arrive as [`ErrorEffect`].
    type Error: From<ErrorEffect>;

    /// The event stored under `id`, exactly as stored, if any.
    ///
    /// # Errors
    /// A storage failure.
    fn stored(&mut self, id: EventId) -> Result<Option<StoredRecord>, Self::Error>;

    /// What validation needs of the stored event `id`, if any.
    ///
    /// # Errors
    /// A storage failure.
    fn parent(&mut self, id: EventId) -> Result<Option<ParentView>, Self::Error>;

    /// The state of a correlation chain (default when none was set).
    ///
    /// # Errors
    /// A storage failure.
    fn chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, Self::Error>;

    /// The next free sequence of a lane in a tenant (0 for a new lane).
    ///
    /// # Errors
    /// A storage failure.
    fn next_sequence(&mut self, tenant_id: TenantId, lane: u32) -> Result<u32, Self::Error>;

    /// Stores a validated, sealed event with every index it belongs in
    /// (and its place in the tenant's commit-ordered log); the lane's next
    /// free sequence becomes `position.sequence + 1`.
    ///
    /// # Errors
    /// A storage failure.
    fn insert(&mut self, event: &Prepared<P>) -> Result<(), Self::Error>;
}

/// A batch of drafts after the checks that need no storage, in order. A
/// draft refused there keeps its error in place, so that the batch
/// reports the first refusal in batch order, whichever rule refused it.
#[derive(Debug, Clone)]
pub struct PreparedBatch<P> {
    events: Vec<Result<Prepared<P>, ErrorEffect>>,
}

impl<P: Serialize> PreparedBatch<P> {
    /// Prepares every draft (ids assigned, payloads encoded once).
    ///
    /// # Errors
    /// A batch over [`crate::MAX_BATCH_EVENTS`].
    pub fn new(
        drafts: Vec<NewEvent<P>>,
        limits: AppendLimits,
        now_micros: u64,
    ) -> Result<Self, ErrorEffect> {
        check_batch_size(drafts.len())?;
        let many = drafts.len() > 1;
        let name = |index: usize, error: ErrorEffect| {
            if many {
                in_batch(error, index)
            } else {
                error
            }
        };
        let events = drafts
            .into_iter()
            .enumerate()
            .map(|(index, draft)| {
                let mut prepared =
                    prepare(draft, limits, now_micros).map_err(|e| name(index, e))?;
                prepared.refusal = prepared.refusal.take().map(|e| name(index, e));
                Ok(prepared)
            })
            .collect();
        Ok(Self { events })
    }
}

impl<P> PreparedBatch<P> {
    /// The events that passed preparation, up to the first that did not
    /// (the flow never looks past it).
    pub fn valid(&self) -> impl Iterator<Item = &Prepared<P>> {
        self.events.iter().map_while(|event| event.as_ref().ok())
    }

    /// The tenants of the batch's valid events, each once, in id order
    /// (the order in which a backend takes per-tenant locks).
    #[must_use]
    pub fn tenants(&self) -> Vec<TenantId> {
        let tenants: BTreeSet<TenantId> = self.valid().map(|p| p.event.tenant_id).collect();
        tenants.into_iter().collect()
    }

    /// After [`append_all`] admitted the batch: every event as stored.
    #[must_use]
    pub fn into_appended(self) -> Vec<Appended<P>> {
        self.events
            .into_iter()
            .filter_map(Result::ok)
            .map(|prepared| Appended {
                inserted: !prepared.stored_before,
                payload_bytes: prepared.payload_bytes,
                event: prepared.event,
            })
            .collect()
    }
}

/// One event of an admitted batch, exactly as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended<P> {
    /// The event: id, position, correlation id, timestamp, flags and hash
    /// as stored.
    pub event: Event<P>,
    /// Its payload as stored (JSON).
    pub payload_bytes: Vec<u8>,
    /// Stored by this call (false: an idempotent re-append).
    pub inserted: bool,
}

/// Whether a batch was admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Every event is stored (by the transaction, once it commits) or was
    /// stored before.
    Admitted,
    /// A chain is under backpressure: nothing may be written; the caller
    /// aborts the transaction and answers `Effect::Retry`.
    Held(Held),
}

/// Runs every append rule over `batch` inside the backend's transaction
/// `txn`, inserting each admitted event through it. On `Ok(Admitted)`
/// every event of the batch is complete in place (see
/// [`PreparedBatch::into_appended`]). On an error or `Held`, the backend
/// must discard whatever `txn` wrote. Running it again on the same batch
/// (after a storage retry) gives the same result.
///
/// # Errors
/// The first refusal in batch order, or the backend's failure.
pub fn append_all<P, T>(
    txn: &mut T,
    batch: &mut PreparedBatch<P>,
    now_micros: u64,
) -> Result<Admission, T::Error>
where
    T: AppendTxn<P>,
{
    // Events of this batch stored by this run, and lanes it advanced.
    let mut written: HashMap<EventId, usize> = HashMap::new();
    let mut next_free: HashMap<(TenantId, u32), u32> = HashMap::new();
    // Appends do not change a chain's state, so each chain is read once
    // per batch, however many of its events the batch holds.
    let mut chains: HashMap<(TenantId, EventId), ChainState> = HashMap::new();
    for index in 0..batch.events.len() {
        let (earlier, rest) = batch.events.split_at_mut(index);
        let Some(entry) = rest.first_mut() else {
            break;
        };
        let current = match entry {
            Ok(current) => current,
            Err(error) => return Err(error.clone().into()),
        };
        let earlier_event = |id: &EventId| {
            written
                .get(id)
                .and_then(|at| earlier.get(*at))
                .and_then(|entry| entry.as_ref().ok())
        };
        current.stored_before = false;
        let id = current.id();
        let stored = match earlier_event(&id) {
            Some(repeat) => Some(repeat.record()),
            None => txn.stored(id)?,
        };
        if let Some(stored) = stored {
            compare_with_stored(current, &stored)?;
            current.event.header = stored.header;
            current.event.hash = stored.hash;
            current.event.hash_version = stored.hash_version;
            if stored.redaction.is_some() {
                // A retry after a redaction must not bring the payload
                // back into any answer or cache: the answer carries the
                // mark and the stored (empty) bytes; the caller's own
                // payload value is all it keeps.
                current.payload_bytes = stored.payload_bytes;
                current.event.redaction = stored.redaction;
            }
            current.stored_before = true;
            continue;
        }
        if let Some(refusal) = &current.refusal {
            return Err(refusal.clone().into());
        }
        let mut views = Vec::with_capacity(current.event.parents.len());
        for parent in &current.event.parents {
            views.push(match earlier_event(parent) {
                Some(earlier) => Some(earlier.as_parent()),
                None => txn.parent(*parent)?,
            });
        }
        let parents = check_parents(current, &views)?;
        let (tenant, header) = (current.event.tenant_id, current.event.header);
        let chain = match chains.entry((tenant, header.correlation_id)) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(unknown) => {
                unknown.insert(txn.chain_state(tenant, header.correlation_id)?)
            }
        };
        if let Some(held) = check_chain(current, chain, now_micros)? {
            return Ok(Admission::Held(held));
        }
        let lane = (tenant, header.position.lane);
        let free = match next_free.get(&lane) {
            Some(free) => *free,
            None => txn.next_sequence(tenant, lane.1)?,
        };
        let after = check_sequence(current, free)?;
        seal(current, &parents);
        txn.insert(current)?;
        next_free.insert(lane, after);
        written.insert(id, index);
    }
    Ok(Admission::Admitted)
}

/// The lanes and chains [`append_all`] will ask a backend about, for a
/// backend that reads them before it runs the flow (PostgreSQL reads
/// them in one statement). `parent` answers what the backend already read
/// of the events the batch names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookups {
    /// (tenant, lane) pairs whose next free sequence is asked.
    pub lanes: Vec<(TenantId, u32)>,
    /// (tenant, correlation id) pairs whose chain state is asked.
    pub chains: Vec<(TenantId, EventId)>,
}

impl<P> PreparedBatch<P> {
    /// The lookups the flow makes of lanes and chains, given the stored
    /// views of the events the batch names (its ids and parents).
    pub fn lookups(&self, mut parent: impl FnMut(&EventId) -> Option<ParentView>) -> Lookups {
        let mut in_batch: HashMap<EventId, ParentView> = HashMap::new();
        let mut lanes = BTreeSet::new();
        let mut chains = BTreeSet::new();
        for prepared in self.valid() {
            let first = prepared
                .event
                .parents
                .first()
                .and_then(|first| in_batch.get(first).copied().or_else(|| parent(first)));
            let lane = resolved_lane(prepared, first.as_ref());
            let correlation = resolved_correlation(prepared, first.as_ref());
            let tenant = prepared.event.tenant_id;
            lanes.insert((tenant, lane));
            chains.insert((tenant, correlation));
            let mut view = prepared.as_parent();
            view.lane = lane;
            view.correlation_id = correlation;
            in_batch.insert(prepared.id(), view);
        }
        Lookups {
            lanes: lanes.into_iter().collect(),
            chains: chains.into_iter().collect(),
        }
    }
}
