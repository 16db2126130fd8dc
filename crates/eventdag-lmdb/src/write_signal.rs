//! The signal flow's primitives inside the writer's transaction. What a
//! signal does is the core's (`eventdag::backend::signal`,
//! `acknowledge`); here is only where it is stored.

use eventdag::backend::walk::WalkDirection;
use eventdag::backend::{SignalTarget, SignalTxn};
use eventdag::{
    ChainState, ErrorEffect, EventFlags, EventId, SignalRecord, TenantId, MAX_CHAIN_EVENTS,
};
use heed::RwTxn;

use crate::fail::Fail;
use crate::keys::{self, SIGNAL_COUNTER};
use crate::read;
use crate::write_event::{set_flag, LmdbTxn};

impl SignalTxn for LmdbTxn<'_, '_> {
    type Error = Fail;

    fn target(&mut self, id: EventId) -> Result<Option<SignalTarget>, Fail> {
        Ok(read::view(self.txn, self.dbs, &id)?.map(|view| {
            let header = view.header();
            SignalTarget {
                tenant_id: view.tenant_id(),
                correlation_id: header.correlation_id,
                flags: header.flags,
            }
        }))
    }

    fn ancestors(&mut self, from: EventId) -> Result<Vec<EventId>, Fail> {
        let mut ids = read::walk_ids(
            self.txn,
            self.dbs,
            from,
            MAX_CHAIN_EVENTS,
            WalkDirection::Ancestors,
        )?;
        ids.remove(0);
        Ok(ids)
    }

    fn chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, Fail> {
        read::chain_state(self.txn, self.dbs, &tenant_id, &correlation_id)
    }

    fn put_chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
        state: &ChainState,
    ) -> Result<(), Fail> {
        let key = keys::chain(&tenant_id, &correlation_id);
        put_json(self.txn, &self.dbs.chains, &key, state)
    }

    fn add_flag(&mut self, id: EventId, flag: EventFlags) -> Result<(), Fail> {
        set_flag(self.txn, self.dbs, &id, flag).map(|_| ())
    }

    fn take_signal_sequence(&mut self, tenant_id: TenantId) -> Result<u64, Fail> {
        let sequence = read::counter(self.txn, self.dbs, SIGNAL_COUNTER, &tenant_id)? + 1;
        self.dbs.counters.put(
            self.txn,
            &keys::counter(SIGNAL_COUNTER, &tenant_id),
            &sequence.to_be_bytes(),
        )?;
        Ok(sequence)
    }

    fn insert_signal(&mut self, record: &SignalRecord) -> Result<(), Fail> {
        let (tenant, sequence) = (record.tenant_id, record.sequence);
        for id in std::iter::once(record.from).chain(record.delivered_to.iter().copied()) {
            self.dbs
                .signal_index
                .put(self.txn, &keys::signal_index(&id, sequence), &[])?;
        }
        put_json(
            self.txn,
            &self.dbs.signals,
            &keys::tenant_seq(&tenant, sequence),
            record,
        )
    }
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
