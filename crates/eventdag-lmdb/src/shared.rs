//! `Shared`: what the store handles and the writer thread share. Its own
//! module so that the writer and the handle both depend on it, not on
//! each other.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use heed::{Env, WithoutTls};
use parking_lot::RwLock;
use tokio::sync::Semaphore;

use crate::options::LmdbOptions;
use crate::read_txns::ReadTxns;
use crate::schema::Dbs;

/// What the handles and the writer thread share.
pub(crate) struct Shared {
    // Field order is drop order: kept read transactions end, then the
    // environment closes, before the directory lock is released.
    /// Read transactions kept for reuse while they see the latest commit.
    pub(crate) read_txns: ReadTxns,
    pub(crate) env: Env<WithoutTls>,
    pub(crate) dbs: Dbs,
    /// Held shared by every read while it uses a read transaction (taking
    /// it from or returning it to `read_txns` included) and exclusively
    /// while the writer resizes the map, which LMDB allows only with no
    /// transaction active in the process.
    pub(crate) gate: RwLock<()>,
    /// Bounds concurrent read transactions below the reader slots, so that
    /// reads wait for a slot instead of failing with READERS_FULL.
    pub(crate) readers: Arc<Semaphore>,
    pub(crate) options: LmdbOptions,
    pub(crate) path: PathBuf,
    /// The held `eventdag.lock`; none for a read-only store.
    pub(crate) _lock: Option<File>,
}
