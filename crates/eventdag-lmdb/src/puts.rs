//! The writes of one append, gathered while the core's flow runs and
//! written once it admitted the whole batch: each database's entries in
//! key order, each lane counter and commit counter once.
//!
//! Deferring is sound because the flow never asks the store about the
//! batch's own events (it keeps them itself, see
//! `eventdag::backend::append_all`): every lookup it makes reads what was
//! committed before the batch. Key order keeps each B-tree descent on the
//! pages the previous put touched, and lets LMDB's `MDB_APPEND` place the
//! entries that sort after everything stored (ids are time-ordered v7
//! UUIDs, commit cursors grow) without a search and into full pages.

use std::collections::BTreeMap;

use eventdag::backend::Prepared;
use eventdag::TenantId;
use heed::{PutFlags, RwTxn};

use crate::fail::Fail;
use crate::keys::{self, COMMIT_COUNTER};
use crate::read;
use crate::record;
use crate::schema::{Db, Dbs};

/// Entries for one database, written in key order by [`Entries::flush`].
#[derive(Default)]
struct Entries(Vec<(Vec<u8>, Vec<u8>)>);

impl Entries {
    fn push(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.0.push((key, value));
    }

    /// Writes every entry in key order. Entries past the database's last
    /// key go in with `MDB_APPEND` (LMDB checks the order itself and
    /// refuses, never misplaces, a key that is not past the last one).
    fn flush(mut self, txn: &mut RwTxn, db: &Db) -> Result<(), Fail> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let last = db.last(txn)?.map(|(key, _)| key.to_vec());
        let first_past = match &last {
            None => 0,
            Some(last) => self.0.partition_point(|(key, _)| key <= last),
        };
        for (at, (key, value)) in self.0.iter().enumerate() {
            // Keys within one batch are distinct (each names its event),
            // so everything from `first_past` on sorts strictly after the
            // stored keys and after each other.
            if at >= first_past {
                db.put_with_flags(txn, PutFlags::APPEND, key, value)?;
            } else {
                db.put(txn, key, value)?;
            }
        }
        Ok(())
    }
}

/// Everything an admitted append writes, by database.
#[derive(Default)]
pub(crate) struct Puts {
    events: Entries,
    children: Entries,
    correlation: Entries,
    by_kind: Entries,
    tenant_kind: Entries,
    unacked: Entries,
    tenant_unacked: Entries,
    /// (tenant, lane) → the lane's next free sequence after the batch.
    lanes: BTreeMap<(TenantId, u32), u32>,
    /// The events of each tenant in insert order: their commit-log cursors
    /// follow that order.
    commits: BTreeMap<TenantId, Vec<eventdag::EventId>>,
}

impl Puts {
    /// Gathers the record and index entries of a validated, sealed event.
    pub(crate) fn insert<P>(&mut self, prepared: &Prepared<P>) {
        let event = &prepared.event;
        let header = &event.header;
        let (id, tenant, position) = (header.event_id, event.tenant_id, header.position);
        let value = record::encode_event(event, &prepared.payload_bytes);
        self.events.push(id.as_bytes().to_vec(), value);
        let position_bytes = keys::KeyBuf::new().position(position).done();
        for parent in &event.parents {
            self.children
                .push(keys::child(parent, &id), position_bytes.clone());
        }
        // The flow refused the event if its lane had no sequence left.
        self.lanes
            .insert((tenant, position.lane), position.sequence.saturating_add(1));
        self.correlation.push(
            keys::correlation(&tenant, &header.correlation_id, position, &id),
            Vec::new(),
        );
        self.by_kind.push(
            keys::by_kind(header.event_kind, position, &tenant, &id),
            Vec::new(),
        );
        self.tenant_kind.push(
            keys::tenant_kind(&tenant, header.event_kind, position, &id),
            Vec::new(),
        );
        if header.flags.awaits_ack() {
            self.unacked
                .push(keys::unacked(header.timestamp, &id), Vec::new());
            self.tenant_unacked.push(
                keys::tenant_unacked(&tenant, header.timestamp, &id),
                Vec::new(),
            );
        }
        self.commits.entry(tenant).or_default().push(id);
    }

    /// Writes everything gathered into `txn`.
    pub(crate) fn write(self, txn: &mut RwTxn, dbs: &Dbs) -> Result<(), Fail> {
        let mut lanes = Entries::default();
        for ((tenant, lane), next) in self.lanes {
            lanes.push(keys::lane(&tenant, lane), next.to_be_bytes().to_vec());
        }
        let mut counters = Entries::default();
        let mut commit_log = Entries::default();
        for (tenant, ids) in self.commits {
            let mut cursor = read::counter(txn, dbs, COMMIT_COUNTER, &tenant)?;
            for id in ids {
                cursor += 1;
                commit_log.push(keys::tenant_seq(&tenant, cursor), id.as_bytes().to_vec());
            }
            counters.push(
                keys::counter(COMMIT_COUNTER, &tenant),
                cursor.to_be_bytes().to_vec(),
            );
        }
        self.events.flush(txn, &dbs.events)?;
        self.children.flush(txn, &dbs.children)?;
        self.correlation.flush(txn, &dbs.correlation)?;
        self.by_kind.flush(txn, &dbs.by_kind)?;
        self.tenant_kind.flush(txn, &dbs.tenant_kind)?;
        self.unacked.flush(txn, &dbs.unacked)?;
        self.tenant_unacked.flush(txn, &dbs.tenant_unacked)?;
        lanes.flush(txn, &dbs.lanes)?;
        commit_log.flush(txn, &dbs.commit_log)?;
        counters.flush(txn, &dbs.counters)
    }
}
