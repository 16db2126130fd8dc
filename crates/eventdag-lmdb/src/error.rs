//! Errors of opening a store, and how LMDB errors of running operations
//! become [`ErrorEffect`]s that say what happened and what to do.

use std::path::PathBuf;

use eventdag::ErrorEffect;
use heed::MdbError;

/// How to recover a store whose data file is damaged.
const RESTORE: &str = "restore the store from a backup (copy the backup's directory back, or `eventdag export` a copy of the backup and `eventdag import` it into an empty directory), then run `eventdag verify`";

/// Why a store could not be opened. Each variant says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LmdbError {
    /// The directory could not be created or read. Check that the path is
    /// a writable directory on a local file system (not NFS).
    #[error("cannot use {path} as an EventDag data directory")]
    Io {
        /// The data directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The path exists and is not a directory. Give the path of a
    /// directory (a new one, or one that holds a store).
    #[error("{path} is not a directory; an EventDag store is a directory holding {data}", data = crate::layout::DATA_FILE)]
    NotADirectory {
        /// The path given as the data directory.
        path: PathBuf,
    },
    /// There is no store at the path and none may be created there: the
    /// store was opened read-only or with `LmdbOptions::create(false)`, or
    /// the directory holds files of something else (a store is only
    /// created in a new or empty directory). Check the path.
    #[error("{path} is not an EventDag store: {found}")]
    NotAStore {
        /// The data directory.
        path: PathBuf,
        /// What is there instead.
        found: String,
    },
    /// The data file contradicts its own header (it is shorter than the
    /// header says, or a page the header points to is not the page it
    /// should be): it was truncated or overwritten. Nothing was mapped.
    /// Restore the store from a backup.
    #[error("{file} is damaged: expected {expected}, found {found}; {RESTORE}")]
    Damaged {
        /// The data file.
        file: PathBuf,
        /// What the file's header promises.
        expected: String,
        /// What the file holds instead.
        found: String,
    },
    /// Another process (or another `LmdbDag` in this process) has the
    /// directory open. Stop it, or use another directory.
    #[error("{path} is in use by another process or store handle (lock file {path}/eventdag.lock is held); stop it or choose another directory")]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// The directory was written by an incompatible version of EventDag
    /// (or holds another LMDB database). Open it with the release that
    /// wrote it, export it, and import into a fresh directory.
    #[error("{path} holds data in format {found}, this release reads format {supported}; open it with the release that wrote it, `eventdag export` it and import into an empty directory")]
    IncompatibleFormat {
        /// The data directory.
        path: PathBuf,
        /// The format found (`"unknown"` when the directory holds no
        /// EventDag format marker, or an LMDB file of another LMDB version).
        found: String,
        /// The format this release reads and writes.
        supported: u32,
    },
    /// LMDB reported that the data file is corrupt. Restore the directory
    /// from a backup.
    #[error("{path} is corrupt ({message}); {RESTORE}")]
    Corrupted {
        /// The data directory.
        path: PathBuf,
        /// What LMDB reported.
        message: String,
    },
    /// The disk is full. Free space and open again.
    #[error("no space left on the device holding {path}; free space and open again")]
    DiskFull {
        /// The data directory.
        path: PathBuf,
    },
    /// Any other LMDB failure while opening; the message says which.
    #[error("cannot open LMDB environment in {path}: {message}")]
    Lmdb {
        /// The data directory.
        path: PathBuf,
        /// What LMDB reported.
        message: String,
    },
    /// The writer thread could not be started (the OS refused a thread).
    #[error("cannot start the writer thread")]
    WriterThread(#[source] std::io::Error),
}

impl LmdbError {
    /// Maps a heed error raised while opening `path`.
    pub(crate) fn from_heed(path: PathBuf, error: heed::Error) -> Self {
        match error {
            heed::Error::Mdb(MdbError::Invalid | MdbError::VersionMismatch) => {
                Self::IncompatibleFormat {
                    path,
                    found: "unknown (not an LMDB file of this LMDB version)".into(),
                    supported: crate::schema::FORMAT_VERSION,
                }
            }
            heed::Error::Mdb(MdbError::Corrupted | MdbError::PageNotFound) => Self::Corrupted {
                path,
                message: error.to_string(),
            },
            heed::Error::EnvAlreadyOpened => Self::Locked { path },
            heed::Error::Io(io) if is_disk_full(&io) => Self::DiskFull { path },
            heed::Error::Io(source) => Self::Io { path, source },
            other => Self::Lmdb {
                path,
                message: other.to_string(),
            },
        }
    }
}

/// Whether an I/O error means the disk (or the user's quota) is full.
pub(crate) fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// The operational error for an LMDB failure during `operation`.
pub(crate) fn storage_error(operation: &str, error: &heed::Error) -> ErrorEffect {
    let message = match error {
        heed::Error::Mdb(MdbError::MapFull) => {
            "the LMDB map is full and may not grow further; reopen the store with a larger LmdbOptions::max_map_size (nothing of this operation was written)".to_string()
        }
        heed::Error::Mdb(MdbError::ReadersFull) => {
            "all LMDB reader slots are in use; raise LmdbOptions::max_readers or lower the number of concurrent readers".to_string()
        }
        heed::Error::Mdb(MdbError::Corrupted | MdbError::PageNotFound) => {
            return ErrorEffect::corrupt(
                None,
                format!("LMDB reports a corrupt data file during {operation} ({error}); restore the directory from a backup"),
            )
        }
        heed::Error::Io(io) if is_disk_full(io) => {
            "no space left on the device; free space and retry (nothing of this operation was written)".to_string()
        }
        other => format!("LMDB failed: {other}; retry, and check the disk and the data directory if it persists"),
    };
    ErrorEffect::unavailable(operation, message)
}

/// The corruption error for a stored value of `event_id` that does not
/// decode.
pub(crate) fn undecodable(
    event_id: eventdag::EventId,
    what: impl std::fmt::Display,
) -> ErrorEffect {
    ErrorEffect::corrupt(
        Some(event_id),
        format!("the stored value of event {event_id} does not decode: {what}; run `eventdag verify` and restore from a backup"),
    )
}
