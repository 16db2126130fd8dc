//! The consistency checks of the counters and logs: lane counters,
//! the per-tenant commit log and the signal index.

use std::collections::{HashMap, HashSet};

use eventdag::{EventId, TenantId};
use heed::RoTxn;

use super::ConsistencyReport;
use crate::fail::Fail;
use crate::keys::{self, be_u64, uuid_at, COMMIT_COUNTER};
use crate::read;
use crate::schema::Dbs;

pub(super) fn check_lanes(
    txn: &RoTxn,
    dbs: &Dbs,
    lanes: &HashMap<(TenantId, u32), Vec<u32>>,
    report: &mut ConsistencyReport,
) -> Result<(), Fail> {
    // Retention removes whole chains and keeps lane counters (a removed
    // position is never handed out again), so a lane's sequences may have
    // gaps and a counter may outlive every event of its lane; what must
    // hold is that sequences are unique and below the counter.
    for ((tenant, lane), sequences) in lanes {
        let mut sorted = sequences.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|pair| pair[0] == pair[1]) {
            report.problem(format!(
                "tenant {tenant} lane {lane}: a sequence is taken twice"
            ));
        }
        let next = read::next_free(txn, dbs, tenant, *lane)?;
        if sorted.last().is_some_and(|last| *last >= next) {
            report.problem(format!(
                "tenant {tenant} lane {lane}: next free sequence is {next}, but sequence {} is stored",
                sorted.last().copied().unwrap_or_default()
            ));
        }
    }
    let mut counted = 0usize;
    for entry in dbs.lanes.iter(txn)? {
        entry?;
        counted += 1;
        report.index_entries += 1;
    }
    if counted < lanes.len() {
        report.problem(format!(
            "{} lanes have events but only {counted} have counters",
            lanes.len()
        ));
    }
    Ok(())
}

pub(super) fn check_commit_log(
    txn: &RoTxn,
    dbs: &Dbs,
    tenants: &HashMap<EventId, TenantId>,
    report: &mut ConsistencyReport,
) -> Result<(), Fail> {
    let mut seen = HashSet::new();
    for entry in dbs.commit_log.iter(txn)? {
        let (key, value) = entry?;
        report.index_entries += 1;
        let tenant = uuid_at(key, 0).unwrap_or_default();
        let cursor = be_u64(key, 16).unwrap_or_default();
        let id = uuid_at(value, 0).unwrap_or_default();
        if tenants.get(&id) != Some(&tenant) {
            report.problem(format!("commit log of tenant {tenant}: cursor {cursor} names event {id}, not a stored event of that tenant"));
        }
        if !seen.insert(id) {
            report.problem(format!("commit log: event {id} appears twice"));
        }
        if cursor > read::counter(txn, dbs, COMMIT_COUNTER, &tenant)? {
            report.problem(format!(
                "commit log of tenant {tenant}: cursor {cursor} is past the counter"
            ));
        }
    }
    for id in tenants.keys().filter(|id| !seen.contains(*id)) {
        report.problem(format!("event {id}: missing from the commit log"));
    }
    Ok(())
}

pub(super) fn check_signals(
    txn: &RoTxn,
    dbs: &Dbs,
    tenants: &HashMap<EventId, TenantId>,
    report: &mut ConsistencyReport,
) -> Result<(), Fail> {
    for entry in dbs.signal_index.iter(txn)? {
        let (key, _) = entry?;
        report.index_entries += 1;
        let id = uuid_at(key, 0).unwrap_or_default();
        let sequence = be_u64(key, 16).unwrap_or_default();
        let Some(tenant) = tenants.get(&id) else {
            report.problem(format!(
                "signal index: entry names event {id}, which is not stored"
            ));
            continue;
        };
        if dbs
            .signals
            .get(txn, &keys::tenant_seq(tenant, sequence))?
            .is_none()
        {
            report.problem(format!(
                "signal index: event {id} names signal {sequence}, which is not stored"
            ));
        }
    }
    Ok(())
}
