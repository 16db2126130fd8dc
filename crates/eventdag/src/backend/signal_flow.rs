//! The one signal flow (SPEC §3 `signal_upstream` and `acknowledge`):
//! what a signal does — its record, its delivery to every ancestor once,
//! the chain state it changes, the flag it sets — decided here over
//! [`SignalTxn`], the primitives a backend answers inside its write
//! transaction.

use crate::{ChainState, ErrorEffect, EventFlags, EventId, SignalRecord, TenantId, UpstreamSignal};

/// What the signal flow needs of a stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalTarget {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its correlation chain.
    pub correlation_id: EventId,
    /// Its flags as stored now.
    pub flags: EventFlags,
}

/// What a backend answers inside its write transaction for the signal
/// flow.
pub trait SignalTxn {
    /// The backend's failure; domain refusals arrive as [`ErrorEffect`].
    type Error: From<ErrorEffect>;

    /// The stored event `id`, if any.
    ///
    /// # Errors
    /// A storage failure.
    fn target(&mut self, id: EventId) -> Result<Option<SignalTarget>, Self::Error>;

    /// Every ancestor of `from` (not `from` itself), each once, in the
    /// order of `walk_ancestors`; at most [`crate::MAX_CHAIN_EVENTS`].
    ///
    /// # Errors
    /// A storage failure.
    fn ancestors(&mut self, from: EventId) -> Result<Vec<EventId>, Self::Error>;

    /// The state of a correlation chain (default when none was set).
    ///
    /// # Errors
    /// A storage failure.
    fn chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, Self::Error>;

    /// Replaces the state of a correlation chain.
    ///
    /// # Errors
    /// A storage failure.
    fn put_chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
        state: &ChainState,
    ) -> Result<(), Self::Error>;

    /// Adds `flag` to the stored event `id` (which the flow found without
    /// it). The hash does not cover store-managed flags.
    ///
    /// # Errors
    /// A storage failure.
    fn add_flag(&mut self, id: EventId, flag: EventFlags) -> Result<(), Self::Error>;

    /// The tenant's next signal sequence (from 1), taken.
    ///
    /// # Errors
    /// A storage failure.
    fn take_signal_sequence(&mut self, tenant_id: TenantId) -> Result<u64, Self::Error>;

    /// Stores a signal record: in the tenant's signal log, and listed for
    /// its sender and each event it was delivered to.
    ///
    /// # Errors
    /// A storage failure.
    fn insert_signal(&mut self, record: &SignalRecord) -> Result<(), Self::Error>;
}

fn require<T: SignalTxn>(txn: &mut T, event_id: EventId) -> Result<SignalTarget, T::Error> {
    txn.target(event_id)?
        .ok_or_else(|| ErrorEffect::NotFound { event_id }.into())
}

/// Stores `signal` from `from`, applies its effect and delivers it to
/// every ancestor of `from`: `Cancel` marks its chain cancelled,
/// `Backpressure` holds the sender's chain until `until` (the latest one
/// wins), `CompensationComplete` sets COMPENSATED on the named event
/// (which must be of the sender's tenant); `Ack` and `ErrorPropagation`
/// are recorded and delivered. Returns the stored record.
///
/// # Errors
/// Not-found for an unknown sender or compensated event (or one of
/// another tenant); the backend's failure.
pub fn signal<T: SignalTxn>(
    txn: &mut T,
    from: EventId,
    signal: UpstreamSignal,
    now_micros: u64,
) -> Result<SignalRecord, T::Error> {
    let sender = require(txn, from)?;
    let tenant = sender.tenant_id;
    let compensated = match &signal {
        UpstreamSignal::CompensationComplete { event_id } => match txn.target(*event_id)? {
            Some(target) if target.tenant_id == tenant => Some((*event_id, target.flags)),
            _ => {
                return Err(ErrorEffect::NotFound {
                    event_id: *event_id,
                }
                .into())
            }
        },
        _ => None,
    };
    let delivered_to = txn.ancestors(from)?;
    match &signal {
        UpstreamSignal::Cancel {
            correlation_id,
            reason,
        } => {
            let mut state = txn.chain_state(tenant, *correlation_id)?;
            state.cancelled = Some(reason.clone());
            txn.put_chain_state(tenant, *correlation_id, &state)?;
        }
        UpstreamSignal::Backpressure { until } => {
            let mut state = txn.chain_state(tenant, sender.correlation_id)?;
            state.backpressure_until = Some(*until);
            txn.put_chain_state(tenant, sender.correlation_id, &state)?;
        }
        UpstreamSignal::CompensationComplete { .. }
        | UpstreamSignal::Ack { .. }
        | UpstreamSignal::ErrorPropagation { .. } => {}
    }
    if let Some((event_id, flags)) = compensated {
        if !flags.contains(EventFlags::COMPENSATED) {
            txn.add_flag(event_id, EventFlags::COMPENSATED)?;
        }
    }
    let record = SignalRecord {
        sequence: txn.take_signal_sequence(tenant)?,
        tenant_id: tenant,
        from,
        correlation_id: sender.correlation_id,
        signal,
        timestamp: now_micros,
        delivered_to,
    };
    txn.insert_signal(&record)?;
    Ok(record)
}

/// What an acknowledgment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    /// The tenant of the event.
    pub tenant_id: TenantId,
    /// ACKNOWLEDGED was set now (false: it was already set, and nothing
    /// changed).
    pub newly: bool,
    /// The `Ack` signal sent upstream, if any.
    pub signal: Option<SignalRecord>,
}

/// Sets ACKNOWLEDGED on `event_id` (idempotent: an acknowledged event
/// changes nothing and sends nothing). With `send_upstream`, the first
/// acknowledgment also sends `Ack { event_id }` upstream, in the same
/// transaction.
///
/// # Errors
/// Not-found for an unknown event; the backend's failure.
pub fn acknowledge<T: SignalTxn>(
    txn: &mut T,
    event_id: EventId,
    send_upstream: bool,
    now_micros: u64,
) -> Result<Acknowledged, T::Error> {
    let target = require(txn, event_id)?;
    if target.flags.contains(EventFlags::ACKNOWLEDGED) {
        return Ok(Acknowledged {
            tenant_id: target.tenant_id,
            newly: false,
            signal: None,
        });
    }
    txn.add_flag(event_id, EventFlags::ACKNOWLEDGED)?;
    let signal = if send_upstream {
        Some(signal(
            txn,
            event_id,
            UpstreamSignal::Ack { event_id },
            now_micros,
        )?)
    } else {
        None
    };
    Ok(Acknowledged {
        tenant_id: target.tenant_id,
        newly: true,
        signal,
    })
}
