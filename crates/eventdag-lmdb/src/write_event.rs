//! Appending one event inside the writer's transaction: the shared append
//! rules (exactly as `MemoryDag` runs them), then the event and every
//! index it belongs in, all in the same transaction.

use eventdag::append_rules::{
    check_chain, check_parents, check_sequence, compare_with_stored, seal, ChainAdmission,
    ParentView, PreparedAppend,
};
use eventdag::{ErrorEffect, Event, EventFlags, EventId};
use heed::RwTxn;
use serde::de::DeserializeOwned;

use crate::error::undecodable;
use crate::fail::Fail;
use crate::keys::{self, COMMIT_COUNTER};
use crate::read;
use crate::record;
use crate::schema::Dbs;

/// Whether an event with these flags waits in the acknowledgment queue.
pub(crate) fn needs_ack(flags: EventFlags) -> bool {
    flags.contains(EventFlags::REQUIRES_ACK) && !flags.contains(EventFlags::ACKNOWLEDGED)
}

/// Validates and stores one prepared event; returns its id. An identical
/// re-append returns the id and writes nothing. Running it again on the
/// same `prepared` (after a map-full retry) gives the same result.
pub(crate) fn append<P: DeserializeOwned>(
    txn: &mut RwTxn,
    dbs: &Dbs,
    prepared: &mut PreparedAppend<P>,
    now: u64,
) -> Result<EventId, Fail> {
    let event_id = prepared.event.header.event_id;
    if let Some(existing) = read::view(txn, dbs, &event_id)? {
        let stored: Event<P> = existing
            .event()
            .map_err(|err| undecodable(event_id, format!("payload: {err}")))?;
        compare_with_stored(prepared, &stored, existing.payload_bytes())?;
        return Ok(event_id);
    }
    let mut parents = Vec::with_capacity(prepared.event.parents.len());
    for id in &prepared.event.parents {
        parents.push(read::view(txn, dbs, id)?.map(|view| {
            let header = view.header();
            ParentView {
                id: *id,
                tenant_id: view.tenant_id(),
                depth: header.position.depth,
                correlation_id: header.correlation_id,
                hash: view.hash(),
            }
        }));
    }
    check_parents(prepared, &parents)?;
    let tenant = prepared.event.tenant_id;
    let chain = read::chain_state(txn, dbs, &tenant, &prepared.event.header.correlation_id)?;
    if let ChainAdmission::RetryAfter { after, reason } = check_chain(prepared, &chain, now)? {
        return Err(Fail::Retry { after, reason });
    }
    let position = prepared.event.header.position;
    check_sequence(prepared, read::next_free(txn, dbs, &tenant, position.lane)?)?;
    let parents: Vec<ParentView> = parents.into_iter().flatten().collect();
    seal(prepared, &parents);
    insert(txn, dbs, prepared)?;
    Ok(event_id)
}

/// Writes a validated, sealed event and its index entries.
fn insert<P>(txn: &mut RwTxn, dbs: &Dbs, prepared: &PreparedAppend<P>) -> Result<(), Fail> {
    let event = &prepared.event;
    let header = &event.header;
    let (id, tenant, position) = (header.event_id, event.tenant_id, header.position);
    let next = position.sequence.checked_add(1).ok_or_else(|| {
        ErrorEffect::invalid(
            "position",
            format!("event {id}: lane {} has no sequence left", position.lane),
        )
    })?;
    let value = record::encode(
        header,
        &tenant,
        &event.hash,
        &event.parents,
        &prepared.payload_bytes,
    );
    dbs.events.put(txn, id.as_bytes(), &value)?;
    let position_bytes = keys::KeyBuf::new().position(position).done();
    for parent in &event.parents {
        dbs.children
            .put(txn, &keys::child(parent, &id), &position_bytes)?;
    }
    dbs.lanes.put(
        txn,
        &keys::lane(&tenant, position.lane),
        &next.to_be_bytes(),
    )?;
    let correlation = keys::correlation(&tenant, &header.correlation_id, position, &id);
    dbs.correlation.put(txn, &correlation, &[])?;
    let by_kind = keys::by_kind(header.event_kind, position, &tenant, &id);
    dbs.by_kind.put(txn, &by_kind, &[])?;
    let tenant_kind = keys::tenant_kind(&tenant, header.event_kind, position, &id);
    dbs.tenant_kind.put(txn, &tenant_kind, &[])?;
    if needs_ack(header.flags) {
        dbs.unacked
            .put(txn, &keys::unacked(header.timestamp, &id), &[])?;
        let key = keys::tenant_unacked(&tenant, header.timestamp, &id);
        dbs.tenant_unacked.put(txn, &key, &[])?;
    }
    let cursor = read::counter(txn, dbs, COMMIT_COUNTER, &tenant)? + 1;
    dbs.counters.put(
        txn,
        &keys::counter(COMMIT_COUNTER, &tenant),
        &cursor.to_be_bytes(),
    )?;
    dbs.commit_log
        .put(txn, &keys::tenant_seq(&tenant, cursor), id.as_bytes())?;
    Ok(())
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
    let value = record::encode(
        &view.header(),
        &view.tenant_id(),
        &view.hash(),
        &parents,
        payload,
    );
    dbs.events.put(txn, id.as_bytes(), &value)?;
    Ok(true)
}
