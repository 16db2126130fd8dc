//! Why a [`crate::TieredDag`] could not be opened. Errors of the store's
//! operations are [`eventdag::ErrorEffect`]s, exactly as `PgDag` returns
//! them: the cache never adds an error of its own to a call.

use std::path::PathBuf;

use eventdag_lmdb::LmdbError;
use eventdag_postgres::PgError;

/// Why [`crate::TieredDag::open`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TieredError {
    /// PostgreSQL (the source of truth) could not be reached, configured or
    /// migrated. Nothing works without it at open time: check the URL and
    /// the server, then retry. (HTTP 503 for a server that opens lazily.)
    #[error("cannot open the PostgreSQL side of the tiered store: {0}")]
    Postgres(#[from] PgError),
    /// Another process (or store handle) holds the cache directory. Stop
    /// it or give this node its own directory: each node needs one.
    #[error(
        "the cache directory {path} is in use by another store; give each node its own directory"
    )]
    CacheLocked {
        /// The cache directory.
        path: PathBuf,
    },
    /// The cache directory could not be used even after wiping it (it is
    /// not writable, the disk is full…). Fix the directory and retry.
    #[error("cannot use {path} as the cache directory")]
    Cache {
        /// The cache directory.
        path: PathBuf,
        /// What LMDB or the file system reported.
        #[source]
        source: LmdbError,
    },
    /// The background tasks need a Tokio runtime: call `open` from one.
    #[error("TieredDag::open must run inside a Tokio runtime")]
    NoRuntime,
}
