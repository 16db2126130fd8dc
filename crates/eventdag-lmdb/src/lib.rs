//! `eventdag-lmdb`: EventDag's embedded default store. One directory on
//! local disk, no server, built on LMDB through `heed`.
//!
//! - Every append is one write transaction holding the event and all its
//!   index entries; [`eventdag::DagStore::append_batch`] stores many events
//!   in one (all or none).
//! - Writes run on one dedicated writer thread (LMDB write transactions
//!   must begin and commit on one thread) with group commit; reads run
//!   concurrently on no-TLS read transactions bounded by a semaphore below
//!   the reader slots.
//! - `Ok` means synced to disk ([`SyncMode::Durable`], the default).
//! - Keys are big-endian so range scans come out in contract order; walks
//!   and filters read the 64-byte header and parents at fixed offsets
//!   without decoding payloads. See `docs/storage-lmdb.md`.
//!
//! ```
//! use eventdag::{EventDag, EventDagExt, EventKind, DEFAULT_TENANT};
//! use eventdag_lmdb::LmdbDag;
//! use serde_json::{json, Value};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let dag: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
//! let root = dag.append_root(DEFAULT_TENANT, EventKind::DATA, json!({"step": "plan"})).await.ok().unwrap();
//! let child = dag.append_child(root.id(), EventKind::NOTE, json!({"step": "act"})).await.ok().unwrap();
//! let ancestors = dag.walk_ancestors(child.id(), 10).await.ok().unwrap();
//! assert_eq!(ancestors.iter().map(|e| e.id()).collect::<Vec<_>>(), vec![child.id(), root.id()]);
//! assert!(dag.check_consistency().await.ok().unwrap().is_consistent());
//! # });
//! ```
#![deny(unsafe_code)]

mod compact;
mod consistency;
mod dag;
mod dag_store;
mod env;
mod error;
mod event_dag;
mod fail;
mod file_check;
mod forget;
mod forget_writes;
mod keys;
mod layout;
mod options;
mod puts;
mod queue;
mod raw;
mod read;
mod read_txns;
mod record;
mod schema;
mod shared;
mod tenant_writes;
mod tenants;
mod write_event;
mod write_signal;
mod writer;

pub use consistency::{ConsistencyReport, MAX_REPORTED_PROBLEMS};
pub use dag::LmdbDag;
pub use error::LmdbError;
pub use options::{
    LmdbOptions, SyncMode, DEFAULT_GROUP_COMMIT, DEFAULT_MAP_SIZE, DEFAULT_MAX_MAP_SIZE,
    DEFAULT_MAX_READERS,
};
pub use raw::{RawEntry, RawRead, RawStore, RawWrite};
pub use schema::FORMAT_VERSION;

/// The files a store directory holds: the data file, LMDB's reader table
/// and the directory lock.
pub const STORE_FILES: [&str; 3] = [layout::DATA_FILE, layout::READER_TABLE, env::LOCK_FILE];

/// The record layout of the `events` table (see `docs/storage-lmdb.md`),
/// for stores that keep EventDag records in a [`RawStore`]: the tiered
/// store's hot cache holds exactly these bytes.
pub mod codec {
    pub use crate::record::{encode_event, encode_parts, Body, RecordView, FLAGS_AT};
}
