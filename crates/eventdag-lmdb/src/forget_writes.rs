//! Forgetting's writes inside the writer's transaction (SPEC §10):
//! redaction rewrites one value, chain removal and tenant erasure delete
//! every key that names the removed events. What may be removed is the
//! core's rule (`eventdag::backend::check_removal`); here is only where
//! things are stored.
//!
//! Every database is listed in `schema.rs`; each deletion below names the
//! databases it touches, and `tests/forget_scan.rs` scans every database
//! for the erased tenant's id afterwards.

use std::collections::HashSet;

use eventdag::backend::{check_removal, RemovalFacts};
use eventdag::{
    check_redaction_reason, payload_hash, ApiKeyRecord, ChainRemoval, ErrorEffect, EventId,
    Redaction, RetentionPolicy, SignalRecord, TenantErasure, TenantId,
};
use heed::RwTxn;

use crate::fail::Fail;
use crate::keys::{self, uuid_at, COMMIT_COUNTER, SIGNAL_COUNTER};
use crate::read;
use crate::record::{encode_parts, Body, RecordView};
use crate::schema::{Db, Dbs};
use crate::write_signal::put_json;

/// Key prefix of retention policies in `meta`.
pub(crate) const RETENTION_PREFIX: &[u8] = b"retention:";

/// A forgetting write for the writer thread.
pub(crate) enum ForgetOp {
    Redact(TenantId, EventId, String),
    RemoveChain(TenantId, EventId, u64),
    EraseTenant(TenantId),
    SetRetention(TenantId, Option<RetentionPolicy>),
}

impl ForgetOp {
    /// The operation's name in errors.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Redact(..) => "redact",
            Self::RemoveChain(..) => "remove_chain",
            Self::EraseTenant(..) => "erase_tenant",
            Self::SetRetention(..) => "set_retention_policy",
        }
    }
}

/// What a forgetting write answers.
pub(crate) enum ForgetAnswer {
    /// The redacted event's stored value.
    Redacted(Vec<u8>),
    Removal(ChainRemoval),
    Erased(TenantErasure),
    Done,
}

/// Runs `op` in `txn` at `now` (µs).
pub(crate) fn run(
    txn: &mut RwTxn,
    dbs: &Dbs,
    op: &ForgetOp,
    now: u64,
) -> Result<ForgetAnswer, Fail> {
    match op {
        ForgetOp::Redact(tenant, id, reason) => {
            redact(txn, dbs, tenant, id, reason, now).map(ForgetAnswer::Redacted)
        }
        ForgetOp::RemoveChain(tenant, correlation, older_than) => {
            remove_chain(txn, dbs, tenant, correlation, *older_than).map(ForgetAnswer::Removal)
        }
        ForgetOp::EraseTenant(tenant) => erase_tenant(txn, dbs, tenant).map(ForgetAnswer::Erased),
        ForgetOp::SetRetention(tenant, policy) => {
            set_retention(txn, dbs, tenant, policy.as_ref()).map(|()| ForgetAnswer::Done)
        }
    }
}

/// Rewrites the event's value without its payload, with the mark. The
/// payload lives only in the `events` value: indexes hold ids and
/// positions, signals and queue entries no payload.
fn redact(
    txn: &mut RwTxn,
    dbs: &Dbs,
    tenant: &TenantId,
    id: &EventId,
    reason: &str,
    now: u64,
) -> Result<Vec<u8>, Fail> {
    check_redaction_reason(reason)?;
    let not_found = || Fail::Refused(ErrorEffect::NotFound { event_id: *id });
    let view = read::view(txn, dbs, id)?.ok_or_else(not_found)?;
    if view.tenant_id() != *tenant {
        return Err(not_found());
    }
    if view.is_redacted() {
        return Ok(view.bytes().to_vec());
    }
    let version = view
        .hash_version()
        .ok_or_else(|| crate::error::undecodable(*id, "unknown hash version byte"))?;
    let mark = Redaction {
        reason: reason.to_owned(),
        redacted_at: now,
        payload_hash: payload_hash(view.payload_bytes()),
    };
    let parents: Vec<EventId> = view.parents().collect();
    let value = encode_parts(
        &view.header(),
        tenant,
        &view.hash(),
        version,
        &parents,
        Body::Redacted(&mark),
    );
    dbs.events.put(txn, id.as_bytes(), &value)?;
    Ok(value)
}

/// Removes a whole chain when the core's rule allows it.
fn remove_chain(
    txn: &mut RwTxn,
    dbs: &Dbs,
    tenant: &TenantId,
    correlation: &EventId,
    older_than: u64,
) -> Result<ChainRemoval, Fail> {
    let prefix = keys::correlation_prefix(tenant, correlation).done();
    let ids = read::ids_with_prefix(txn, &dbs.correlation, &prefix, usize::MAX)?;
    let mut facts = Vec::with_capacity(ids.len());
    let mut outside = None;
    for id in &ids {
        let view = read::require(txn, dbs, id)?;
        let header = view.header();
        facts.push(RemovalFacts {
            event_id: *id,
            timestamp: header.timestamp,
            waiting_for_ack: header.flags.awaits_ack(),
        });
        if outside.is_none() {
            for child in read::ids_with_prefix(txn, &dbs.children, id.as_bytes(), usize::MAX)? {
                let child_chain = read::require(txn, dbs, &child)?.header().correlation_id;
                if child_chain != *correlation {
                    outside = Some((child, *id));
                    break;
                }
            }
        }
    }
    if let Err(reason) = check_removal(&facts, outside, older_than) {
        return Ok(ChainRemoval::Kept { reason });
    }
    let removing: HashSet<EventId> = ids.iter().copied().collect();
    for id in &ids {
        delete_event(txn, dbs, id)?;
    }
    delete_commit_entries(txn, dbs, tenant, &removing)?;
    dbs.chains.delete(txn, &keys::chain(tenant, correlation))?;
    Ok(ChainRemoval::Removed { events: ids.len() })
}

/// Deletes one event's value and every key that names it: indexes, its
/// edges to its parents, the signals it sent (with their index entries at
/// every recipient), its own signal index entries, its queue state. Its
/// children are removed with it (a chain is removed only without outside
/// children), so the edges from it go with them.
fn delete_event(txn: &mut RwTxn, dbs: &Dbs, id: &EventId) -> Result<(), Fail> {
    let view = read::require(txn, dbs, id)?;
    let owned = view.bytes().to_vec();
    let view = RecordView::parse(&owned).ok_or_else(|| {
        crate::error::undecodable(*id, "the record is shorter than its fixed part")
    })?;
    let header = view.header();
    let tenant = view.tenant_id();
    let position = header.position;
    dbs.events.delete(txn, id.as_bytes())?;
    dbs.correlation.delete(
        txn,
        &keys::correlation(&tenant, &header.correlation_id, position, id),
    )?;
    dbs.by_kind.delete(
        txn,
        &keys::by_kind(header.event_kind, position, &tenant, id),
    )?;
    dbs.tenant_kind.delete(
        txn,
        &keys::tenant_kind(&tenant, header.event_kind, position, id),
    )?;
    dbs.unacked
        .delete(txn, &keys::unacked(header.timestamp, id))?;
    dbs.tenant_unacked
        .delete(txn, &keys::tenant_unacked(&tenant, header.timestamp, id))?;
    for parent in view.parents() {
        dbs.children.delete(txn, &keys::child(&parent, id))?;
    }
    delete_signals_of(txn, dbs, &tenant, id)?;
    dbs.queue.delete(txn, id.as_bytes())?;
    dbs.dead_letters
        .delete(txn, &keys::KeyBuf::new().id(&tenant).id(id).done())?;
    Ok(())
}

/// Deletes the signals `id` sent and its own signal index entries.
fn delete_signals_of(
    txn: &mut RwTxn,
    dbs: &Dbs,
    tenant: &TenantId,
    id: &EventId,
) -> Result<(), Fail> {
    let index_keys = keys_with_prefix(txn, &dbs.signal_index, id.as_bytes())?;
    for index_key in index_keys {
        let Some(sequence) = keys::be_u64(&index_key, 16) else {
            continue;
        };
        let log_key = keys::tenant_seq(tenant, sequence);
        let record: Option<SignalRecord> = read::json(txn, &dbs.signals, &log_key, "signal")?;
        if let Some(record) = record.filter(|r| r.from == *id) {
            for recipient in &record.delivered_to {
                dbs.signal_index
                    .delete(txn, &keys::signal_index(recipient, sequence))?;
            }
            dbs.signals.delete(txn, &log_key)?;
        }
        dbs.signal_index.delete(txn, &index_key)?;
    }
    Ok(())
}

/// Deletes the commit-log entries of `removing`. The log has no index by
/// id, so this scans the tenant's log from its start and stops once every
/// entry is found: retention removes the oldest chains, whose entries
/// are at the start of what is left of the log.
fn delete_commit_entries(
    txn: &mut RwTxn,
    dbs: &Dbs,
    tenant: &TenantId,
    removing: &HashSet<EventId>,
) -> Result<(), Fail> {
    let mut found = Vec::with_capacity(removing.len());
    for entry in dbs.commit_log.prefix_iter(txn, tenant.as_bytes())? {
        let (key, value) = entry?;
        if uuid_at(value, 0).is_some_and(|id| removing.contains(&id)) {
            found.push(key.to_vec());
            if found.len() == removing.len() {
                break;
            }
        }
    }
    for key in found {
        dbs.commit_log.delete(txn, &key)?;
    }
    Ok(())
}

/// Removes everything of the tenant: events (with every key naming them),
/// the tenant-prefixed databases, its counters, retention policy,
/// registry entry and API keys.
fn erase_tenant(txn: &mut RwTxn, dbs: &Dbs, tenant: &TenantId) -> Result<TenantErasure, Fail> {
    // Every event of the tenant is in its commit log (tenant ‖ cursor →
    // id).
    let mut ids = Vec::new();
    for entry in dbs.commit_log.prefix_iter(txn, tenant.as_bytes())? {
        if let Some(id) = uuid_at(entry?.1, 0) {
            ids.push(id);
        }
    }
    for id in &ids {
        if read::view(txn, dbs, id)?.is_some() {
            delete_event(txn, dbs, id)?;
        }
    }
    let prefixed = [
        &dbs.correlation,
        &dbs.tenant_kind,
        &dbs.lanes,
        &dbs.tenant_unacked,
        &dbs.chains,
        &dbs.signals,
        &dbs.commit_log,
        &dbs.dead_letters,
    ];
    for db in prefixed {
        for key in keys_with_prefix(txn, db, tenant.as_bytes())? {
            db.delete(txn, &key)?;
        }
    }
    for tag in [COMMIT_COUNTER, SIGNAL_COUNTER] {
        dbs.counters.delete(txn, &keys::counter(tag, tenant))?;
    }
    dbs.meta.delete(txn, &retention_key(tenant))?;
    let registered = match dbs.tenant_ids.get(txn, tenant.as_bytes())? {
        Some(name) => {
            let name = name.to_vec();
            dbs.tenants.delete(txn, &name)?;
            dbs.tenant_ids.delete(txn, tenant.as_bytes())?;
            true
        }
        None => false,
    };
    let mut key_prefixes = Vec::new();
    for entry in dbs.api_keys.iter(txn)? {
        let (prefix, value) = entry?;
        let key: ApiKeyRecord = serde_json::from_slice(value).map_err(|err| {
            ErrorEffect::corrupt(None, format!("a stored API key does not decode: {err}"))
        })?;
        if key.tenant_id == *tenant {
            key_prefixes.push(prefix.to_vec());
        }
    }
    for prefix in &key_prefixes {
        dbs.api_keys.delete(txn, prefix)?;
    }
    Ok(TenantErasure {
        events: ids.len() as u64,
        api_keys: key_prefixes.len() as u64,
        registered,
    })
}

fn set_retention(
    txn: &mut RwTxn,
    dbs: &Dbs,
    tenant: &TenantId,
    policy: Option<&RetentionPolicy>,
) -> Result<(), Fail> {
    let key = retention_key(tenant);
    match policy {
        Some(policy) => {
            policy.check()?;
            put_json(txn, &dbs.meta, &key, policy)
        }
        None => {
            dbs.meta.delete(txn, &key)?;
            Ok(())
        }
    }
}

/// `meta` key of a tenant's retention policy.
pub(crate) fn retention_key(tenant: &TenantId) -> Vec<u8> {
    let mut key = RETENTION_PREFIX.to_vec();
    key.extend_from_slice(tenant.as_bytes());
    key
}

/// Keys of `db` under `prefix`, copied (deleting while iterating would
/// need heed's unsafe cursor deletion).
fn keys_with_prefix(txn: &RwTxn, db: &Db, prefix: &[u8]) -> Result<Vec<Vec<u8>>, Fail> {
    let mut out = Vec::new();
    for entry in db.prefix_iter(txn, prefix)? {
        out.push(entry?.0.to_vec());
    }
    Ok(out)
}
