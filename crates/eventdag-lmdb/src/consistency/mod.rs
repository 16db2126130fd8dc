//! `LmdbDag::check_consistency`: every index entry points to an existing
//! event with the fields the entry encodes, and every event is in every
//! index it belongs in (what `eventdag verify` runs besides the hashes).

mod logs;

use std::collections::HashMap;

use eventdag::{Effect, ErrorEffect, EventId, TenantId};
use heed::RoTxn;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use crate::fail::Fail;
use crate::file_check;
use crate::keys::{self, position_at, uuid_at};
use crate::layout::DATA_FILE;
use crate::read;
use crate::record::RecordView;
use crate::schema::{Db, Dbs};
use crate::LmdbDag;

/// The most problems a report lists (the count is always exact).
pub const MAX_REPORTED_PROBLEMS: usize = 100;

/// Read transactions begun before one finds its snapshot's meta page
/// (a writer committing twice in between overwrites it).
const SNAPSHOT_ATTEMPTS: usize = 10;

/// What [`LmdbDag::check_consistency`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyReport {
    /// Events checked.
    pub events: u64,
    /// Index entries checked.
    pub index_entries: u64,
    /// How many problems were found.
    pub problem_count: u64,
    /// The first [`MAX_REPORTED_PROBLEMS`] problems, each naming the event
    /// or entry and what is wrong.
    pub problems: Vec<String>,
}

impl ConsistencyReport {
    /// Whether no problem was found.
    #[must_use]
    pub fn is_consistent(&self) -> bool {
        self.problem_count == 0
    }

    pub(crate) fn problem(&mut self, message: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_REPORTED_PROBLEMS {
            self.problems.push(message);
        }
    }
}

impl<P> LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Checks every event against every index, in one read transaction (a
    /// consistent snapshot; writes go on meanwhile). Reads the whole store:
    /// linear in its size. First, every page of the snapshot is read from
    /// the data file (not through the map) and checked to be an intact
    /// LMDB page, so that a page damaged on disk is reported as
    /// [`ErrorEffect::Corruption`] naming the file instead of being
    /// followed by LMDB (see `docs/storage-lmdb.md`).
    pub async fn check_consistency(&self) -> Effect<ConsistencyReport> {
        let file = self.shared.path.join(DATA_FILE);
        for _ in 0..SNAPSHOT_ATTEMPTS {
            let file = file.clone();
            let checked = self
                .read_blocking("check_consistency", move |txn, dbs| {
                    let txnid = u64::try_from(txn.id()).unwrap_or(u64::MAX);
                    match file_check::every_page(&file, txnid) {
                        Ok(true) => check(txn, dbs).map(Some),
                        Ok(false) => Ok(None),
                        Err(damage) => Err(Fail::Refused(ErrorEffect::corrupt(None, damage))),
                    }
                })
                .await;
            match checked.branch() {
                Ok(Some(report)) => return Effect::Ok(report),
                Ok(None) => {}
                Err(effect) => return effect,
            }
        }
        Effect::Err(ErrorEffect::unavailable(
            "check_consistency",
            "a writer committed faster than the snapshot's pages could be found; retry",
        ))
    }
}

/// Everything derived from one event that its index entries must match.
struct Expected {
    keys: Vec<(&'static str, Vec<u8>)>,
}

fn expected_keys(view: &RecordView<'_>) -> Expected {
    let header = view.header();
    let (id, tenant, position) = (header.event_id, view.tenant_id(), header.position);
    let mut keys = vec![
        (
            "correlation",
            keys::correlation(&tenant, &header.correlation_id, position, &id),
        ),
        (
            "by_kind",
            keys::by_kind(header.event_kind, position, &tenant, &id),
        ),
        (
            "tenant_kind",
            keys::tenant_kind(&tenant, header.event_kind, position, &id),
        ),
    ];
    if header.flags.awaits_ack() {
        keys.push(("unacked", keys::unacked(header.timestamp, &id)));
        keys.push((
            "tenant_unacked",
            keys::tenant_unacked(&tenant, header.timestamp, &id),
        ));
    }
    for parent in view.parents() {
        keys.push(("children", keys::child(&parent, &id)));
    }
    Expected { keys }
}

fn db_named<'d>(dbs: &'d Dbs, name: &str) -> &'d Db {
    match name {
        "correlation" => &dbs.correlation,
        "by_kind" => &dbs.by_kind,
        "tenant_kind" => &dbs.tenant_kind,
        "unacked" => &dbs.unacked,
        "tenant_unacked" => &dbs.tenant_unacked,
        _ => &dbs.children,
    }
}

fn check(txn: &RoTxn, dbs: &Dbs) -> Result<ConsistencyReport, Fail> {
    let mut report = ConsistencyReport::default();
    let mut lanes: HashMap<(TenantId, u32), Vec<u32>> = HashMap::new();
    let mut expected_entries: HashMap<&'static str, u64> = HashMap::new();
    let mut tenants: HashMap<EventId, TenantId> = HashMap::new();
    for entry in dbs.events.iter(txn)? {
        let (key, value) = entry?;
        report.events += 1;
        let key_id = uuid_at(key, 0).unwrap_or_default();
        let Some(view) = RecordView::parse(value) else {
            report.problem(format!(
                "event {key_id}: the record is shorter than its fixed part"
            ));
            continue;
        };
        let header = view.header();
        if header.event_id != key_id || key.len() != 16 {
            report.problem(format!(
                "event {key_id}: stored under a key that is not its id {}",
                header.event_id
            ));
        }
        match view.seal() {
            Err(message) => report.problem(format!("event {key_id}: {message}")),
            // A redacted event keeps no payload; its mark decoded.
            Ok((_, Some(_))) => {}
            Ok((_, None)) => {
                if serde_json::from_slice::<IgnoredAny>(view.payload_bytes()).is_err() {
                    report.problem(format!("event {key_id}: the payload is not valid JSON"));
                }
            }
        }
        tenants.insert(key_id, view.tenant_id());
        let position = header.position;
        lanes
            .entry((view.tenant_id(), position.lane))
            .or_default()
            .push(position.sequence);
        for (name, index_key) in expected_keys(&view).keys {
            *expected_entries.entry(name).or_default() += 1;
            if db_named(dbs, name).get(txn, &index_key)?.is_none() {
                report.problem(format!("event {key_id}: missing from index {name}"));
            }
        }
    }
    for name in [
        "correlation",
        "by_kind",
        "tenant_kind",
        "unacked",
        "tenant_unacked",
        "children",
    ] {
        let mut found = 0u64;
        for entry in db_named(dbs, name).iter(txn)? {
            let (key, value) = entry?;
            found += 1;
            report.index_entries += 1;
            check_entry(txn, dbs, name, key, value, &mut report)?;
        }
        let expected = expected_entries.get(name).copied().unwrap_or(0);
        if found != expected {
            report.problem(format!(
                "index {name} has {found} entries, the events imply {expected}"
            ));
        }
    }
    logs::check_lanes(txn, dbs, &lanes, &mut report)?;
    logs::check_commit_log(txn, dbs, &tenants, &mut report)?;
    logs::check_signals(txn, dbs, &tenants, &mut report)?;
    Ok(report)
}

fn check_entry(
    txn: &RoTxn,
    dbs: &Dbs,
    name: &str,
    key: &[u8],
    value: &[u8],
    report: &mut ConsistencyReport,
) -> Result<(), Fail> {
    let id = key
        .len()
        .checked_sub(16)
        .and_then(|at| uuid_at(key, at))
        .unwrap_or_default();
    let Some(view) = read::view(txn, dbs, &id).ok().flatten() else {
        report.problem(format!(
            "index {name}: entry names event {id}, which is not stored"
        ));
        return Ok(());
    };
    if !expected_keys(&view)
        .keys
        .iter()
        .any(|(n, k)| *n == name && k == key)
    {
        report.problem(format!(
            "index {name}: entry for event {id} does not match the event"
        ));
    }
    if name == "children" && position_at(value, 0) != Some(view.header().position) {
        report.problem(format!(
            "index children: entry for event {id} has a stale position"
        ));
    }
    Ok(())
}
