//! Queries inside a transaction (read-only, or the writer's own). Walks
//! and filters look only at keys and the fixed-offset part of records;
//! payloads are decoded last, for the events actually returned.

use std::collections::HashMap;
use std::ops::Bound;

use foldhash::fast::RandomState;

use eventdag::backend::walk::{walk, WalkDirection, WalkNode, PRESIZED};
use eventdag::backend::StoredRecord;
use eventdag::{ChainState, ErrorEffect, Event, EventId, EventKind, SignalRecord, TenantId};
use heed::RoTxn;
use serde::de::DeserializeOwned;

use crate::error::undecodable;
use crate::fail::Fail;
use crate::keys::{self, be_u32, be_u64, position_at, uuid_at};
use crate::record::RecordView;
use crate::schema::{Db, Dbs};

/// The stored record of `id`, if any.
pub(crate) fn view<'t>(
    txn: &'t RoTxn,
    dbs: &Dbs,
    id: &EventId,
) -> Result<Option<RecordView<'t>>, Fail> {
    match dbs.events.get(txn, id.as_bytes())? {
        None => Ok(None),
        Some(bytes) => RecordView::parse(bytes)
            .map(Some)
            .ok_or_else(|| undecodable(*id, "the record is shorter than its fixed part").into()),
    }
}

/// The stored record of `id`, or not-found.
pub(crate) fn require<'t>(txn: &'t RoTxn, dbs: &Dbs, id: &EventId) -> Result<RecordView<'t>, Fail> {
    view(txn, dbs, id)?.ok_or(Fail::Refused(ErrorEffect::NotFound { event_id: *id }))
}

/// The event `id` with its payload decoded, or not-found.
pub(crate) fn event<P: DeserializeOwned>(
    txn: &RoTxn,
    dbs: &Dbs,
    id: &EventId,
) -> Result<Event<P>, Fail> {
    decode(&require(txn, dbs, id)?)
}

/// The event of a record, payload decoded as `P`.
fn decode<P: DeserializeOwned>(view: &RecordView<'_>) -> Result<Event<P>, Fail> {
    view.event().map_err(Fail::Refused)
}

/// The stored record of a view, or corruption naming the event.
pub(crate) fn record_of(view: &RecordView<'_>) -> Result<StoredRecord, Fail> {
    view.record()
        .map_err(|message| undecodable(view.header().event_id, message).into())
}

/// Events named by an index, in the index's order. An index entry whose
/// event is missing is corruption.
pub(crate) fn events<P: DeserializeOwned>(
    txn: &RoTxn,
    dbs: &Dbs,
    ids: &[EventId],
) -> Result<Vec<Event<P>>, Fail> {
    // Sized up front: collecting `Result`s grows the vector by doubling,
    // and moving the events on every growth showed in walk profiles.
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(event(txn, dbs, id).map_err(|fail| match fail {
            Fail::Refused(ErrorEffect::NotFound { event_id }) => Fail::Refused(ErrorEffect::corrupt(
                Some(event_id),
                format!("an index names event {event_id}, which is not stored; run `eventdag verify`"),
            )),
            other => other,
        })?);
    }
    Ok(out)
}

/// The events of `views`, payloads decoded, in order.
pub(crate) fn decode_all<P: DeserializeOwned>(
    views: &[RecordView<'_>],
) -> Result<Vec<Event<P>>, Fail> {
    let mut out = Vec::with_capacity(views.len());
    for view in views {
        out.push(decode(view)?);
    }
    Ok(out)
}

/// Ids of a walk from `from` in contract order.
pub(crate) fn walk_ids(
    txn: &RoTxn,
    dbs: &Dbs,
    from: EventId,
    limit: usize,
    direction: WalkDirection,
) -> Result<Vec<EventId>, Fail> {
    match direction {
        WalkDirection::Ancestors => Ok(ancestor_views(txn, dbs, from, limit)?
            .iter()
            .map(|view| view.header().event_id)
            .collect()),
        WalkDirection::Descendants => descendant_ids(txn, dbs, from, limit),
    }
}

/// The records of an ancestors walk from `from`, in contract order. Each
/// record is looked up once: when the walk first meets it as a parent
/// (for its position), its parents and the answer reuse that view.
pub(crate) fn ancestor_views<'t>(
    txn: &'t RoTxn,
    dbs: &Dbs,
    from: EventId,
    limit: usize,
) -> Result<Vec<RecordView<'t>>, Fail> {
    let start = require(txn, dbs, &from)?;
    let mut views: HashMap<EventId, RecordView<'t>, RandomState> =
        HashMap::with_capacity_and_hasher(limit.min(PRESIZED), RandomState::default());
    views.insert(from, start);
    let ids = walk(
        (from, start.header().position),
        limit,
        WalkDirection::Ancestors,
        |id| {
            let view = match views.get(&id) {
                Some(view) => *view,
                None => require(txn, dbs, &id)?,
            };
            let mut next: Vec<WalkNode> = Vec::new();
            for parent in view.parents() {
                let parent_view = match views.get(&parent) {
                    Some(known) => *known,
                    None => {
                        let found = require(txn, dbs, &parent)?;
                        views.insert(parent, found);
                        found
                    }
                };
                next.push((parent, parent_view.header().position));
            }
            Ok::<_, Fail>(next)
        },
    )?;
    ids.iter()
        .map(|id| match views.get(id) {
            Some(view) => Ok(*view),
            None => require(txn, dbs, id),
        })
        .collect()
}

/// Ids of a descendants walk from `from`: positions come from the
/// children index, so no record is read until the answer is decoded.
fn descendant_ids(
    txn: &RoTxn,
    dbs: &Dbs,
    from: EventId,
    limit: usize,
) -> Result<Vec<EventId>, Fail> {
    let start = require(txn, dbs, &from)?;
    walk(
        (from, start.header().position),
        limit,
        WalkDirection::Descendants,
        |id| {
            let mut next: Vec<WalkNode> = Vec::new();
            for entry in dbs.children.prefix_iter(txn, id.as_bytes())? {
                let (key, value) = entry?;
                let child = uuid_at(key, 16).zip(position_at(value, 0));
                next.push(child.ok_or_else(|| undecodable(id, "a children index entry"))?);
            }
            Ok(next)
        },
    )
}

/// Ids under `prefix` of `db`, the id being the key's last 16 bytes.
pub(crate) fn ids_with_prefix(
    txn: &RoTxn,
    db: &Db,
    prefix: &[u8],
    limit: usize,
) -> Result<Vec<EventId>, Fail> {
    // LMDB refuses an empty key, so the whole database is a plain iteration.
    if prefix.is_empty() {
        collect_ids(db.iter(txn)?, limit)
    } else {
        collect_ids(db.prefix_iter(txn, prefix)?, limit)
    }
}

fn collect_ids<'t>(
    entries: impl Iterator<Item = heed::Result<(&'t [u8], &'t [u8])>>,
    limit: usize,
) -> Result<Vec<EventId>, Fail> {
    let mut out = Vec::new();
    for entry in entries.take(limit) {
        out.push(last_id(entry?.0)?);
    }
    Ok(out)
}

fn last_id(key: &[u8]) -> Result<EventId, Fail> {
    key.len()
        .checked_sub(16)
        .and_then(|at| uuid_at(key, at))
        .ok_or_else(|| ErrorEffect::corrupt(None, "an index key is shorter than an id").into())
}

/// Events of `kind` with depth in `min..=max`, by (depth, lane, sequence,
/// tenant), from `by_kind`; or within one tenant from `tenant_kind`.
pub(crate) fn kind_ids(
    txn: &RoTxn,
    dbs: &Dbs,
    tenant: Option<TenantId>,
    kind: EventKind,
    depths: (u32, u32),
    limit: usize,
) -> Result<Vec<EventId>, Fail> {
    let (db, prefix) = match tenant {
        None => (&dbs.by_kind, keys::KeyBuf::new().u16(kind.0).done()),
        Some(tenant) => (
            &dbs.tenant_kind,
            keys::KeyBuf::new().id(&tenant).u16(kind.0).done(),
        ),
    };
    let mut start = prefix.clone();
    start.extend_from_slice(&depths.0.to_be_bytes());
    let range = (Bound::Included(start.as_slice()), Bound::Unbounded);
    let mut out = Vec::new();
    for entry in db.range(txn, &range)? {
        let (key, _) = entry?;
        let depth = be_u32(key, prefix.len());
        if !key.starts_with(&prefix)
            || depth.is_none_or(|depth| depth > depths.1)
            || out.len() >= limit
        {
            break;
        }
        out.push(last_id(key)?);
    }
    Ok(out)
}

/// The next free sequence of (tenant, lane).
pub(crate) fn next_free(txn: &RoTxn, dbs: &Dbs, tenant: &TenantId, lane: u32) -> Result<u32, Fail> {
    Ok(dbs
        .lanes
        .get(txn, &keys::lane(tenant, lane))?
        .and_then(|bytes| be_u32(bytes, 0))
        .unwrap_or(0))
}

/// A u64 counter (0 when never set).
pub(crate) fn counter(txn: &RoTxn, dbs: &Dbs, tag: u8, tenant: &TenantId) -> Result<u64, Fail> {
    Ok(dbs
        .counters
        .get(txn, &keys::counter(tag, tenant))?
        .and_then(|bytes| be_u64(bytes, 0))
        .unwrap_or(0))
}

/// A JSON value of a side database.
pub(crate) fn json<T: DeserializeOwned>(
    txn: &RoTxn,
    db: &Db,
    key: &[u8],
    what: &str,
) -> Result<Option<T>, Fail> {
    match db.get(txn, key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(bytes).map(Some).map_err(|err| {
            ErrorEffect::corrupt(None, format!("a stored {what} does not decode: {err}")).into()
        }),
    }
}

/// The state of a chain (default when no signal touched it).
pub(crate) fn chain_state(
    txn: &RoTxn,
    dbs: &Dbs,
    tenant: &TenantId,
    correlation: &EventId,
) -> Result<ChainState, Fail> {
    Ok(json(
        txn,
        &dbs.chains,
        &keys::chain(tenant, correlation),
        "chain state",
    )?
    .unwrap_or_default())
}

/// The tenant's signal with this sequence.
pub(crate) fn signal(
    txn: &RoTxn,
    dbs: &Dbs,
    tenant: &TenantId,
    sequence: u64,
) -> Result<SignalRecord, Fail> {
    json(
        txn,
        &dbs.signals,
        &keys::tenant_seq(tenant, sequence),
        "signal",
    )?
    .ok_or_else(|| {
        ErrorEffect::corrupt(
            None,
            format!("signal {sequence} of tenant {tenant} is indexed but not stored"),
        )
        .into()
    })
}

/// Signals sent from or delivered to `id`, by sequence.
pub(crate) fn signals_of(
    txn: &RoTxn,
    dbs: &Dbs,
    id: &EventId,
    limit: usize,
) -> Result<Vec<SignalRecord>, Fail> {
    let tenant = require(txn, dbs, id)?.tenant_id();
    let mut out = Vec::new();
    for entry in dbs
        .signal_index
        .prefix_iter(txn, id.as_bytes())?
        .take(limit)
    {
        let sequence =
            be_u64(entry?.0, 16).ok_or_else(|| undecodable(*id, "a signal index key"))?;
        out.push(signal(txn, dbs, &tenant, sequence)?);
    }
    Ok(out)
}

/// Entries of a tenant-sequenced log (`signals`, `commit_log`) after
/// `after`, as (sequence, value) pairs.
pub(crate) fn log_after<T>(
    txn: &RoTxn,
    db: &Db,
    tenant: &TenantId,
    after: u64,
    limit: usize,
    mut decode: impl FnMut(u64, &[u8]) -> Result<T, Fail>,
) -> Result<Vec<T>, Fail> {
    let Some(first) = after.checked_add(1) else {
        return Ok(Vec::new());
    };
    let start = keys::tenant_seq(tenant, first);
    let range = (Bound::Included(start.as_slice()), Bound::Unbounded);
    let mut out = Vec::new();
    for entry in db.range(txn, &range)? {
        let (key, value) = entry?;
        if out.len() >= limit || !key.starts_with(tenant.as_bytes()) {
            break;
        }
        let sequence =
            be_u64(key, 16).ok_or_else(|| ErrorEffect::corrupt(None, "a log key is too short"))?;
        out.push(decode(sequence, value)?);
    }
    Ok(out)
}
