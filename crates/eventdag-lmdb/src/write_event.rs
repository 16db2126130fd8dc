//! The append flow's primitives inside the writer's transaction: lookups
//! of what is stored, and the insert of a sealed event with every index
//! it belongs in, all in the same transaction. The rules are the core's
//! (`eventdag::backend::append_all`).

use eventdag::backend::{AppendTxn, ParentView, Prepared, StoredRecord};
use eventdag::{ChainState, EventFlags, EventId, TenantId};
use heed::RwTxn;

use crate::fail::Fail;
use crate::keys;
use crate::puts::Puts;
use crate::read;
use crate::record;
use crate::schema::Dbs;

/// One (nested) write transaction of the writer thread, with the tables.
pub(crate) struct LmdbTxn<'t, 'p> {
    pub(crate) txn: &'t mut RwTxn<'p>,
    pub(crate) dbs: &'t Dbs,
}

/// The append flow's transaction: lookups read what was committed before
/// the batch; inserts are gathered and written, in key order, once the
/// flow admitted the whole batch ([`AppendLmdbTxn::write`]).
pub(crate) struct AppendLmdbTxn<'t, 'p> {
    pub(crate) txn: &'t mut RwTxn<'p>,
    pub(crate) dbs: &'t Dbs,
    pub(crate) puts: Puts,
}

impl AppendLmdbTxn<'_, '_> {
    /// Writes every event the flow inserted, with its index entries.
    pub(crate) fn write(self) -> Result<(), Fail> {
        self.puts.write(self.txn, self.dbs)
    }
}

impl<P> AppendTxn<P> for AppendLmdbTxn<'_, '_> {
    type Error = Fail;

    fn stored(&mut self, id: EventId) -> Result<Option<StoredRecord>, Fail> {
        read::view(self.txn, self.dbs, &id)?
            .map(|view| read::record_of(&view))
            .transpose()
    }

    fn parent(&mut self, id: EventId) -> Result<Option<ParentView>, Fail> {
        Ok(read::view(self.txn, self.dbs, &id)?
            .map(|view| ParentView::of(&view.header(), view.tenant_id(), view.hash())))
    }

    fn chain_state(
        &mut self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, Fail> {
        read::chain_state(self.txn, self.dbs, &tenant_id, &correlation_id)
    }

    fn next_sequence(&mut self, tenant_id: TenantId, lane: u32) -> Result<u32, Fail> {
        read::next_free(self.txn, self.dbs, &tenant_id, lane)
    }

    fn insert(&mut self, prepared: &Prepared<P>) -> Result<(), Fail> {
        self.puts.insert(prepared);
        Ok(())
    }
}

/// Sets `flag` on a stored event in place; returns whether it was newly
/// set. The hash does not cover store-managed flags, so it stays valid.
pub(crate) fn set_flag(
    txn: &mut RwTxn,
    dbs: &Dbs,
    id: &EventId,
    flag: EventFlags,
) -> Result<bool, Fail> {
    let (header, tenant, mut value) = {
        let view = read::require(txn, dbs, id)?;
        (view.header(), view.tenant_id(), view.bytes().to_vec())
    };
    if header.flags.contains(flag) {
        return Ok(false);
    }
    if let Some(byte) = value.get_mut(record::FLAGS_AT) {
        *byte |= flag.bits();
    }
    dbs.events.put(txn, id.as_bytes(), &value)?;
    if flag.contains(EventFlags::ACKNOWLEDGED) {
        dbs.unacked
            .delete(txn, &keys::unacked(header.timestamp, id))?;
        let key = keys::tenant_unacked(&tenant, header.timestamp, id);
        dbs.tenant_unacked.delete(txn, &key)?;
    }
    Ok(true)
}

/// Replaces an event's stored payload bytes, keeping its hash (tests of
/// verification). Returns whether the event exists.
pub(crate) fn corrupt(
    txn: &mut RwTxn,
    dbs: &Dbs,
    id: &EventId,
    payload: &[u8],
) -> Result<bool, Fail> {
    let Some(view) = read::view(txn, dbs, id)? else {
        return Ok(false);
    };
    let parents: Vec<EventId> = view.parents().collect();
    let Some(version) = view.hash_version() else {
        return Ok(false);
    };
    let value = record::encode_parts(
        &view.header(),
        &view.tenant_id(),
        &view.hash(),
        version,
        &parents,
        record::Body::Payload(payload),
    );
    dbs.events.put(txn, id.as_bytes(), &value)?;
    Ok(true)
}
