//! The queue flow's primitives over what a queue transaction read before
//! it ran ([`QueuePlanner`]), collecting the rows to write. Pure: the
//! rules are the core's (`eventdag::backend::queue`), run here over
//! prefetched rows as the signal flow runs over `signals::plan`.

use std::collections::HashMap;

use eventdag::backend::queue::{QueueTxn, Waiting};
use eventdag::backend::{SignalTarget, SignalTxn};
use eventdag::{ChainState, ErrorEffect, EventFlags, EventId, QueueEntry, SignalRecord, TenantId};

/// What a queue transaction read, and what its flow decided.
#[derive(Debug, Default)]
pub(crate) struct QueuePlanner {
    /// The events a single-event write asked for (row locked).
    pub(crate) targets: HashMap<EventId, SignalTarget>,
    /// The claim's candidates in queue order (rows locked).
    pub(crate) waiting: Vec<Waiting>,
    /// The queue rows read after the locks.
    pub(crate) entries: HashMap<EventId, QueueEntry>,
    /// Rows to store (`Some`) or delete (`None`), in the order decided.
    pub(crate) writes: Vec<(EventId, Option<QueueEntry>)>,
}

fn not_prefetched(what: &str) -> ErrorEffect {
    ErrorEffect::unavailable(
        "queue",
        format!(
            "the queue flow asked for {what}, which was not read before it (a bug in the store)"
        ),
    )
}

impl QueuePlanner {
    fn write(&mut self, event_id: EventId, entry: Option<QueueEntry>) {
        self.writes.retain(|(id, _)| *id != event_id);
        self.writes.push((event_id, entry));
    }
}

impl QueueTxn for QueuePlanner {
    fn waiting(
        &mut self,
        _tenant_id: TenantId,
        after: Option<(u64, EventId)>,
        limit: usize,
    ) -> Result<Vec<Waiting>, ErrorEffect> {
        // Every candidate was read (and locked) up front, in order.
        Ok(self
            .waiting
            .iter()
            .filter(|w| after.is_none_or(|after| (w.timestamp, w.event_id) > after))
            .take(limit)
            .copied()
            .collect())
    }

    fn entry(&mut self, event_id: EventId) -> Result<Option<QueueEntry>, ErrorEffect> {
        if let Some((_, written)) = self.writes.iter().find(|(id, _)| *id == event_id) {
            return Ok(written.clone());
        }
        Ok(self.entries.get(&event_id).cloned())
    }

    fn put_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), ErrorEffect> {
        self.write(event_id, Some(entry.clone()));
        Ok(())
    }

    fn remove_entry(&mut self, event_id: EventId, _entry: &QueueEntry) -> Result<(), ErrorEffect> {
        self.write(event_id, None);
        Ok(())
    }
}

/// A queue transaction stores no signal itself (a dead letter's
/// `ErrorPropagation` is sent after the claim commits); only `target` is
/// answered, from the locked rows.
impl SignalTxn for QueuePlanner {
    type Error = ErrorEffect;

    fn target(&mut self, id: EventId) -> Result<Option<SignalTarget>, ErrorEffect> {
        Ok(self.targets.get(&id).copied())
    }

    fn ancestors(&mut self, _from: EventId) -> Result<Vec<EventId>, ErrorEffect> {
        Err(not_prefetched("ancestors"))
    }

    fn chain_state(&mut self, _: TenantId, _: EventId) -> Result<ChainState, ErrorEffect> {
        Err(not_prefetched("a chain state"))
    }

    fn put_chain_state(
        &mut self,
        _: TenantId,
        _: EventId,
        _: &ChainState,
    ) -> Result<(), ErrorEffect> {
        Err(not_prefetched("a chain state"))
    }

    fn add_flag(&mut self, _: EventId, _: EventFlags) -> Result<(), ErrorEffect> {
        Err(not_prefetched("a flag"))
    }

    fn take_signal_sequence(&mut self, _: TenantId) -> Result<u64, ErrorEffect> {
        Err(not_prefetched("a signal sequence"))
    }

    fn insert_signal(&mut self, _: &SignalRecord) -> Result<(), ErrorEffect> {
        Err(not_prefetched("a signal"))
    }
}

/// The acknowledgment transaction's view: the signal flow's primitives
/// (`signals::plan`) with the queue row beside them, so that the one
/// acknowledgment flow runs with its lease check in one transaction.
pub(crate) struct WithQueue<'a, T> {
    /// The signal flow's planner.
    pub(crate) signals: &'a mut T,
    /// The event's queue row.
    pub(crate) queue: QueuePlanner,
}

impl<T: SignalTxn<Error = ErrorEffect>> SignalTxn for WithQueue<'_, T> {
    type Error = ErrorEffect;

    fn target(&mut self, id: EventId) -> Result<Option<SignalTarget>, ErrorEffect> {
        self.signals.target(id)
    }

    fn ancestors(&mut self, from: EventId) -> Result<Vec<EventId>, ErrorEffect> {
        self.signals.ancestors(from)
    }

    fn chain_state(&mut self, tenant: TenantId, chain: EventId) -> Result<ChainState, ErrorEffect> {
        self.signals.chain_state(tenant, chain)
    }

    fn put_chain_state(
        &mut self,
        tenant: TenantId,
        chain: EventId,
        state: &ChainState,
    ) -> Result<(), ErrorEffect> {
        self.signals.put_chain_state(tenant, chain, state)
    }

    fn add_flag(&mut self, id: EventId, flag: EventFlags) -> Result<(), ErrorEffect> {
        self.signals.add_flag(id, flag)
    }

    fn take_signal_sequence(&mut self, tenant: TenantId) -> Result<u64, ErrorEffect> {
        self.signals.take_signal_sequence(tenant)
    }

    fn insert_signal(&mut self, record: &SignalRecord) -> Result<(), ErrorEffect> {
        self.signals.insert_signal(record)
    }
}

impl<T: SignalTxn<Error = ErrorEffect>> QueueTxn for WithQueue<'_, T> {
    fn waiting(
        &mut self,
        tenant_id: TenantId,
        after: Option<(u64, EventId)>,
        limit: usize,
    ) -> Result<Vec<Waiting>, ErrorEffect> {
        self.queue.waiting(tenant_id, after, limit)
    }

    fn entry(&mut self, event_id: EventId) -> Result<Option<QueueEntry>, ErrorEffect> {
        self.queue.entry(event_id)
    }

    fn put_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), ErrorEffect> {
        self.queue.put_entry(event_id, entry)
    }

    fn remove_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), ErrorEffect> {
        self.queue.remove_entry(event_id, entry)
    }
}
