//! The signal flow's primitives over what a signal or acknowledgment read
//! before ([`SignalRead`]), collecting its writes ([`SignalWrites`]). Pure.

use std::collections::HashMap;

use eventdag::backend::{SignalTarget, SignalTxn};
use eventdag::{ChainState, ErrorEffect, EventFlags, EventId, SignalRecord, TenantId};

/// What was read before the flow ran.
#[derive(Debug, Default)]
pub(super) struct SignalRead {
    /// The events asked for (absent: not stored).
    pub(super) targets: HashMap<EventId, SignalTarget>,
    /// The ids whose lookup was made.
    pub(super) asked: Vec<EventId>,
    /// The sender's ancestors, when read.
    pub(super) ancestors: Option<Vec<EventId>>,
    /// The chain whose state was read, with it.
    pub(super) chain: Option<((TenantId, EventId), ChainState)>,
    /// The signal sequence taken under the tenant lock.
    pub(super) sequence: Option<u64>,
}

/// What the flow decided to write.
#[derive(Debug, Default)]
pub(super) struct SignalWrites {
    /// The tenant every write of the call is in (the flow never crosses
    /// tenants).
    pub(super) tenant: Option<TenantId>,
    pub(super) flags: Vec<(EventId, EventFlags)>,
    pub(super) chain: Option<(TenantId, EventId, ChainState)>,
    pub(super) signal: Option<SignalRecord>,
}

impl SignalWrites {
    /// Whether there is anything to write.
    pub(super) fn is_empty(&self) -> bool {
        self.flags.is_empty() && self.chain.is_none() && self.signal.is_none()
    }
}

/// The flow's view of one signal transaction.
#[derive(Debug, Default)]
pub(super) struct SignalPlanner {
    pub(super) read: SignalRead,
    pub(super) writes: SignalWrites,
}

fn not_prefetched(what: &str) -> ErrorEffect {
    ErrorEffect::unavailable(
        "signal_upstream",
        format!("the signal asked for {what}, which was not read before it (a bug in the store)"),
    )
}

impl SignalTxn for SignalPlanner {
    type Error = ErrorEffect;

    fn target(&mut self, id: EventId) -> Result<Option<SignalTarget>, ErrorEffect> {
        if !self.read.asked.contains(&id) {
            return Err(not_prefetched("an event"));
        }
        let mut target = self.read.targets.get(&id).copied();
        // Flags added earlier in this transaction count.
        if let Some(target) = &mut target {
            for (flagged, flag) in &self.writes.flags {
                if *flagged == id {
                    target.flags.insert(*flag);
                }
            }
        }
        Ok(target)
    }

    fn ancestors(&mut self, _from: EventId) -> Result<Vec<EventId>, ErrorEffect> {
        self.read
            .ancestors
            .clone()
            .ok_or_else(|| not_prefetched("the sender's ancestors"))
    }

    fn chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, ErrorEffect> {
        match &self.read.chain {
            Some((key, state)) if *key == (tenant_id, correlation_id) => Ok(state.clone()),
            _ => Err(not_prefetched("a chain's state")),
        }
    }

    fn put_chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
        state: &ChainState,
    ) -> Result<(), ErrorEffect> {
        self.writes.tenant = Some(tenant_id);
        self.writes.chain = Some((tenant_id, correlation_id, state.clone()));
        Ok(())
    }

    fn add_flag(&mut self, id: EventId, flag: EventFlags) -> Result<(), ErrorEffect> {
        let tenant = self.read.targets.get(&id).map(|target| target.tenant_id);
        self.writes.tenant = tenant.or(self.writes.tenant);
        self.writes.flags.push((id, flag));
        Ok(())
    }

    fn take_signal_sequence(&mut self, _tenant_id: TenantId) -> Result<u64, ErrorEffect> {
        self.read
            .sequence
            .take()
            .ok_or_else(|| not_prefetched("a signal sequence"))
    }

    fn insert_signal(&mut self, record: &SignalRecord) -> Result<(), ErrorEffect> {
        self.writes.tenant = Some(record.tenant_id);
        self.writes.signal = Some(record.clone());
        Ok(())
    }
}
