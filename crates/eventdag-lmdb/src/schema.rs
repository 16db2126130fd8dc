//! The named LMDB databases of a store and the format marker.

use heed::types::Bytes;
use heed::{Database, Env, RoTxn, RwTxn, WithoutTls};

/// The on-disk format this release reads and writes. Bump it whenever a
/// key or value layout changes; a store of another format is refused on
/// open instead of being misread.
///
/// Format 2 (issue 17) uses two zero bytes of format 1's event values for
/// the hash version and the redaction mark (`record.rs`): every format-1
/// value reads unchanged, so a format-1 store is upgraded in place by
/// rewriting the marker when it is first opened for writing. A release
/// that knows only format 1 then refuses the store rather than misread a
/// version-2 hash.
pub const FORMAT_VERSION: u32 = 2;

/// Formats this release opens: each reads as [`FORMAT_VERSION`] does.
const READABLE_FORMATS: [u32; 2] = [1, FORMAT_VERSION];

const FORMAT_KEY: &[u8] = b"format_version";

/// A database of raw bytes: keys and values are encoded by hand
/// (`keys.rs`, `record.rs`) so that their order and layout are explicit.
pub(crate) type Db = Database<Bytes, Bytes>;

/// Every database of the store. Names are part of the format.
#[derive(Clone, Copy)]
pub(crate) struct Dbs {
    /// `format_version` → u32 BE; `retention:` ‖ tenant → the tenant's
    /// retention policy (JSON).
    pub(crate) meta: Db,
    /// event id → record (`record.rs`).
    pub(crate) events: Db,
    /// parent ‖ child → child's position (12 bytes).
    pub(crate) children: Db,
    /// tenant ‖ correlation ‖ position ‖ id → ().
    pub(crate) correlation: Db,
    /// kind ‖ position ‖ tenant ‖ id → ().
    pub(crate) by_kind: Db,
    /// tenant ‖ kind ‖ position ‖ id → ().
    pub(crate) tenant_kind: Db,
    /// tenant ‖ lane → next free sequence (u32 BE).
    pub(crate) lanes: Db,
    /// timestamp ‖ id → () for events waiting for acknowledgment.
    pub(crate) unacked: Db,
    /// tenant ‖ timestamp ‖ id → ().
    pub(crate) tenant_unacked: Db,
    /// tenant ‖ correlation → chain state (JSON).
    pub(crate) chains: Db,
    /// tenant ‖ sequence → signal record (JSON).
    pub(crate) signals: Db,
    /// event ‖ sequence → () for the sender and every recipient.
    pub(crate) signal_index: Db,
    /// tenant ‖ cursor → event id: the commit-ordered log.
    pub(crate) commit_log: Db,
    /// tag ‖ tenant → last sequence used (u64 BE).
    pub(crate) counters: Db,
    /// tenant name → tenant record (JSON).
    pub(crate) tenants: Db,
    /// tenant id → tenant name.
    pub(crate) tenant_ids: Db,
    /// key prefix → API key record (JSON).
    pub(crate) api_keys: Db,
    /// event id → work-queue state (JSON; `queue.rs`).
    pub(crate) queue: Db,
    /// tenant ‖ event id → () for every dead letter.
    pub(crate) dead_letters: Db,
}

/// How many named databases a store has (for `max_dbs`).
pub(crate) const DATABASES: u32 = 19;

/// The format found in a store this release cannot use.
pub(crate) type Refused = String;

/// Reads the format marker: `Ok(format)` when this release reads it.
fn check_marker(meta: Db, txn: &RoTxn<'_>) -> heed::Result<Result<u32, Refused>> {
    let found = meta
        .get(txn, FORMAT_KEY)?
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes);
    Ok(match found {
        Some(format) if READABLE_FORMATS.contains(&format) => Ok(format),
        Some(format) => Err(format.to_string()),
        None => Err("unknown (unreadable format marker)".into()),
    })
}

impl Dbs {
    /// Opens or creates every database and checks the format marker
    /// (writing it into an empty store). The inner `Err` names the format
    /// found when it is not this release's.
    pub(crate) fn create(env: &Env<WithoutTls>) -> heed::Result<Result<Self, Refused>> {
        let mut txn = env.write_txn()?;
        let existing = env.open_database::<Bytes, Bytes>(&txn, Some("meta"))?;
        let create =
            |name: &str, txn: &mut RwTxn| env.create_database::<Bytes, Bytes>(txn, Some(name));
        let meta = match existing {
            Some(meta) => meta,
            None => {
                // A fresh store has no database at all; an LMDB directory
                // that has the unnamed database populated but no marker is
                // someone else's.
                let unnamed = env.open_database::<Bytes, Bytes>(&txn, None)?;
                let foreign = match unnamed {
                    Some(db) => db.len(&txn)? > 0,
                    None => false,
                };
                if foreign {
                    txn.abort();
                    return Ok(Err("unknown (no EventDag format marker)".into()));
                }
                let meta = create("meta", &mut txn)?;
                meta.put(&mut txn, FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())?;
                meta
            }
        };
        match check_marker(meta, &txn)? {
            Err(found) => {
                txn.abort();
                return Ok(Err(found));
            }
            Ok(FORMAT_VERSION) => {}
            Ok(_older) => meta.put(&mut txn, FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())?,
        }
        let dbs = Self::named(meta, |name| create(name, &mut txn))?;
        txn.commit()?;
        Ok(Ok(dbs))
    }

    /// Opens every database of an existing store in a read transaction,
    /// creating nothing (for a read-only environment). The inner `Err`
    /// says what is missing or which format was found.
    pub(crate) fn open_existing(env: &Env<WithoutTls>) -> heed::Result<Result<Self, Refused>> {
        let txn = env.read_txn()?;
        let Some(meta) = env.open_database::<Bytes, Bytes>(&txn, Some("meta"))? else {
            return Ok(Err("unknown (no EventDag format marker)".into()));
        };
        if let Err(found) = check_marker(meta, &txn)? {
            return Ok(Err(found));
        }
        let mut missing = None;
        let dbs = Self::named(meta, |name| {
            let db = env.open_database::<Bytes, Bytes>(&txn, Some(name))?;
            if db.is_none() {
                missing.get_or_insert_with(|| name.to_owned());
            }
            // A placeholder never used: the store is refused below.
            Ok(db.unwrap_or(meta))
        })?;
        if let Some(name) = missing {
            return Ok(Err(format!("unknown (database {name:?} is missing)")));
        }
        // Committing a read transaction keeps the databases it opened
        // usable by later transactions of this environment (LMDB drops
        // handles opened in a transaction that is aborted).
        txn.commit()?;
        Ok(Ok(dbs))
    }

    /// Every database after `meta`, each from `open(name)`.
    fn named(meta: Db, mut open: impl FnMut(&str) -> heed::Result<Db>) -> heed::Result<Self> {
        Ok(Self {
            meta,
            events: open("events")?,
            children: open("children")?,
            correlation: open("correlation")?,
            by_kind: open("by_kind")?,
            tenant_kind: open("tenant_kind")?,
            lanes: open("lanes")?,
            unacked: open("unacked")?,
            tenant_unacked: open("tenant_unacked")?,
            chains: open("chains")?,
            signals: open("signals")?,
            signal_index: open("signal_index")?,
            commit_log: open("commit_log")?,
            counters: open("counters")?,
            tenants: open("tenants")?,
            tenant_ids: open("tenant_ids")?,
            api_keys: open("api_keys")?,
            // Added with the work queues: a store written before them gets
            // them (empty) on its next read-write open, same format.
            queue: open("queue")?,
            dead_letters: open("dead_letters")?,
        })
    }
}
