//! The named LMDB databases of a store and the format marker.

use heed::types::Bytes;
use heed::{Database, Env, RwTxn, WithoutTls};

/// The on-disk format this release reads and writes. Bump it whenever a
/// key or value layout changes; a store of another format is refused on
/// open instead of being misread.
pub const FORMAT_VERSION: u32 = 1;

const FORMAT_KEY: &[u8] = b"format_version";

/// A database of raw bytes: keys and values are encoded by hand
/// (`keys.rs`, `record.rs`) so that their order and layout are explicit.
pub(crate) type Db = Database<Bytes, Bytes>;

/// Every database of the store. Names are part of the format.
#[derive(Clone, Copy)]
pub(crate) struct Dbs {
    /// `format_version` → u32 BE.
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
}

/// How many named databases a store has (for `max_dbs`).
pub(crate) const DATABASES: u32 = 17;

impl Dbs {
    /// Opens or creates every database and checks the format marker
    /// (writing it into an empty store). The inner `Err` names the format
    /// found when it is not this release's.
    pub(crate) fn create(env: &Env<WithoutTls>) -> heed::Result<Result<Self, String>> {
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
        let found = meta.get(&txn, FORMAT_KEY)?.map(<[u8]>::to_vec);
        let supported = FORMAT_VERSION.to_be_bytes();
        if found.as_deref() != Some(&supported[..]) {
            txn.abort();
            let found = match found.as_deref().and_then(|b| <[u8; 4]>::try_from(b).ok()) {
                Some(bytes) => u32::from_be_bytes(bytes).to_string(),
                None => "unknown (unreadable format marker)".into(),
            };
            return Ok(Err(found));
        }
        let dbs = Self {
            meta,
            events: create("events", &mut txn)?,
            children: create("children", &mut txn)?,
            correlation: create("correlation", &mut txn)?,
            by_kind: create("by_kind", &mut txn)?,
            tenant_kind: create("tenant_kind", &mut txn)?,
            lanes: create("lanes", &mut txn)?,
            unacked: create("unacked", &mut txn)?,
            tenant_unacked: create("tenant_unacked", &mut txn)?,
            chains: create("chains", &mut txn)?,
            signals: create("signals", &mut txn)?,
            signal_index: create("signal_index", &mut txn)?,
            commit_log: create("commit_log", &mut txn)?,
            counters: create("counters", &mut txn)?,
            tenants: create("tenants", &mut txn)?,
            tenant_ids: create("tenant_ids", &mut txn)?,
            api_keys: create("api_keys", &mut txn)?,
        };
        txn.commit()?;
        Ok(Ok(dbs))
    }
}
