//! Signals and acknowledgments inside the writer's transaction, with the
//! same effects and delivery as `MemoryDag`.

use eventdag::walk::WalkDirection;
use eventdag::{ErrorEffect, EventFlags, EventId, SignalRecord, UpstreamSignal, MAX_CHAIN_EVENTS};
use heed::RwTxn;

use crate::fail::Fail;
use crate::keys::{self, SIGNAL_COUNTER};
use crate::read;
use crate::schema::Dbs;
use crate::write_event::set_flag;

/// Sets ACKNOWLEDGED; with `send_upstream`, the first acknowledgment also
/// sends `Ack { event_id }` upstream in the same transaction.
pub(crate) fn acknowledge(
    txn: &mut RwTxn,
    dbs: &Dbs,
    event_id: EventId,
    send_upstream: bool,
    now: u64,
) -> Result<(), Fail> {
    let newly = set_flag(txn, dbs, &event_id, EventFlags::ACKNOWLEDGED)?;
    if newly && send_upstream {
        signal(txn, dbs, event_id, UpstreamSignal::Ack { event_id }, now)?;
    }
    Ok(())
}

/// Stores a signal, applies its effect and delivers it to every ancestor
/// of `from`.
pub(crate) fn signal(
    txn: &mut RwTxn,
    dbs: &Dbs,
    from: EventId,
    signal: UpstreamSignal,
    now: u64,
) -> Result<(), Fail> {
    let sender = read::require(txn, dbs, &from)?;
    let tenant = sender.tenant_id();
    let correlation_id = sender.header().correlation_id;
    if let UpstreamSignal::CompensationComplete { event_id } = &signal {
        let same_tenant = read::view(txn, dbs, event_id)?.is_some_and(|t| t.tenant_id() == tenant);
        if !same_tenant {
            return Err(ErrorEffect::NotFound {
                event_id: *event_id,
            }
            .into());
        }
    }
    let mut delivered_to =
        read::walk_ids(txn, dbs, from, MAX_CHAIN_EVENTS, WalkDirection::Ancestors)?;
    delivered_to.remove(0);
    match &signal {
        UpstreamSignal::Cancel {
            correlation_id,
            reason,
        } => {
            let mut state = read::chain_state(txn, dbs, &tenant, correlation_id)?;
            state.cancelled = Some(reason.clone());
            put_json(
                txn,
                &dbs.chains,
                &keys::chain(&tenant, correlation_id),
                &state,
            )?;
        }
        UpstreamSignal::Backpressure { until } => {
            let mut state = read::chain_state(txn, dbs, &tenant, &correlation_id)?;
            state.backpressure_until = Some(*until);
            put_json(
                txn,
                &dbs.chains,
                &keys::chain(&tenant, &correlation_id),
                &state,
            )?;
        }
        UpstreamSignal::CompensationComplete { event_id } => {
            set_flag(txn, dbs, event_id, EventFlags::COMPENSATED)?;
        }
        UpstreamSignal::Ack { .. } | UpstreamSignal::ErrorPropagation { .. } => {}
    }
    let sequence = read::counter(txn, dbs, SIGNAL_COUNTER, &tenant)? + 1;
    dbs.counters.put(
        txn,
        &keys::counter(SIGNAL_COUNTER, &tenant),
        &sequence.to_be_bytes(),
    )?;
    for id in std::iter::once(from).chain(delivered_to.iter().copied()) {
        dbs.signal_index
            .put(txn, &keys::signal_index(&id, sequence), &[])?;
    }
    let record = SignalRecord {
        sequence,
        tenant_id: tenant,
        from,
        correlation_id,
        signal,
        timestamp: now,
        delivered_to,
    };
    put_json(
        txn,
        &dbs.signals,
        &keys::tenant_seq(&tenant, sequence),
        &record,
    )
}

/// Stores a value as JSON.
pub(crate) fn put_json<T: serde::Serialize>(
    txn: &mut RwTxn,
    db: &crate::schema::Db,
    key: &[u8],
    value: &T,
) -> Result<(), Fail> {
    let bytes = serde_json::to_vec(value).map_err(|err| {
        ErrorEffect::invalid("value", format!("cannot be encoded as JSON: {err}"))
    })?;
    db.put(txn, key, &bytes)?;
    Ok(())
}
