//! Opening the LMDB environment and growing its map: the crate's only
//! `unsafe` code, each call with the conditions that make it sound
//! (`file_check` makes sure a data file is fit to be mapped first).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use heed::{Env, EnvFlags, EnvOpenOptions, WithoutTls};
use rustix::fs::{flock, FlockOperation};

use crate::error::LmdbError;
use crate::layout::{self, DATA_FILE};
use crate::options::{LmdbOptions, SyncMode};
use crate::schema::{Dbs, DATABASES, FORMAT_VERSION};

/// Map sizes are rounded up to this, a multiple of every common page size.
const MAP_GRANULE: usize = 64 * 1024;

/// Name of the advisory lock file inside the data directory.
pub(crate) const LOCK_FILE: &str = "eventdag.lock";

/// An open environment, its databases and the held directory lock (none
/// for a read-only store).
pub(crate) struct Opened {
    pub(crate) env: Env<WithoutTls>,
    pub(crate) dbs: Dbs,
    pub(crate) lock: Option<File>,
}

/// Rounds `bytes` up to the map granule.
pub(crate) fn round_map_size(bytes: usize) -> usize {
    bytes
        .max(MAP_GRANULE)
        .div_ceil(MAP_GRANULE)
        .saturating_mul(MAP_GRANULE)
}

/// Checks that `path` holds a store (or room for a new one, when the
/// options allow creating it), takes the directory lock unless read-only,
/// opens the environment, clears reader slots left by killed processes
/// and checks the format.
pub(crate) fn open(path: &Path, options: &LmdbOptions) -> Result<Opened, LmdbError> {
    let found = layout::inspect(path)?;
    layout::require_store(path, &found, options.create && !options.read_only)?;
    // A read-only store takes no lock: it must work beside the process
    // that holds it (LMDB's reader table coordinates the two), and it
    // never writes, so the one-writer reasoning of the lock still holds.
    let lock = if options.read_only {
        None
    } else {
        Some(lock_dir(path)?)
    };
    let heed_error = |error| LmdbError::from_heed(path.to_path_buf(), error);
    let env = open_env(path, options, DATABASES)?;
    env.clear_stale_readers().map_err(heed_error)?;
    let dbs = if options.read_only {
        Dbs::open_existing(&env)
    } else {
        Dbs::create(&env)
    };
    match dbs.map_err(heed_error)? {
        Ok(dbs) => Ok(Opened { env, dbs, lock }),
        Err(found) => Err(LmdbError::IncompatibleFormat {
            path: PathBuf::from(path),
            found,
            supported: FORMAT_VERSION,
        }),
    }
}

/// Creates `path` if needed and takes its exclusive `eventdag.lock`: no
/// other store of any process maps the directory for writing while the
/// file is held.
pub(crate) fn lock_dir(path: &Path) -> Result<File, LmdbError> {
    let io = |source| LmdbError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() && !path.is_dir() {
        return Err(LmdbError::NotADirectory {
            path: path.to_path_buf(),
        });
    }
    std::fs::create_dir_all(path).map_err(io)?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path.join(LOCK_FILE))
        .map_err(io)?;
    if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
        return Err(LmdbError::Locked {
            path: path.to_path_buf(),
        });
    }
    Ok(lock)
}

/// Opens the environment in `path` with room for `max_dbs` named
/// databases, after checking that its data file is what its meta pages
/// say ([`crate::file_check::before_open`]: a truncated or overwritten file
/// would otherwise crash the process on first access). The caller holds
/// the directory's `eventdag.lock` (see [`lock_dir`]) for the lifetime of
/// the environment, unless it is read-only.
#[allow(unsafe_code)]
pub(crate) fn open_env(
    path: &Path,
    options: &LmdbOptions,
    max_dbs: u32,
) -> Result<Env<WithoutTls>, LmdbError> {
    crate::file_check::before_open(&path.join(DATA_FILE))?;
    let mut builder = EnvOpenOptions::new().read_txn_without_tls();
    // Read-only: the largest map the writer may grow to, so that its
    // growth never leaves this mapping short (it is address space only).
    let map_size = if options.read_only {
        options.max_map_size.max(options.map_size)
    } else {
        options.map_size
    };
    builder
        .map_size(round_map_size(map_size))
        .max_readers(options.max_readers)
        .max_dbs(max_dbs);
    if options.read_only {
        // SAFETY: READ_ONLY maps the data file read-only and never writes
        // it; it weakens nothing the map relies on.
        unsafe {
            builder.flags(EnvFlags::READ_ONLY);
        }
    } else if options.sync_mode == SyncMode::NoSync {
        // SAFETY: NO_SYNC only skips the fsync at commit; it changes what
        // survives an OS crash, never the validity of the mapped memory.
        unsafe {
            builder.flags(EnvFlags::NO_SYNC);
        }
    } else if options.sync_mode == SyncMode::NoMetaSync {
        // SAFETY: NO_META_SYNC only skips the flush of the meta page at
        // commit; it changes what survives an OS crash, never the validity
        // of the mapped memory.
        unsafe {
            builder.flags(EnvFlags::NO_META_SYNC);
        }
    }
    // SAFETY: the memory map is sound as long as nothing but LMDB modifies
    // the data file while it is mapped. A writable store holds an
    // exclusive lock on `eventdag.lock` in the same directory for the
    // lifetime of the environment, so no other EventDag store (in this or
    // another process) writes it; a read-only store writes nothing and
    // registers its readers in LMDB's reader table, which makes the one
    // writer keep every page it reads; LMDB's own lock file coordinates
    // LMDB tools; NO_LOCK is never set; and the documentation requires a
    // local file system. heed itself refuses a second open of the same
    // path in this process. The check above made sure that the pages
    // opening reads lie inside the file and are the pages they should be.
    unsafe { builder.open(path) }.map_err(|error| LmdbError::from_heed(path.to_path_buf(), error))
}

/// Sets the map size of an open environment.
///
/// # Safety contract (checked by the caller)
/// No transaction of this process may be active: the caller is the writer
/// thread (the only one that opens write transactions, none open now) and
/// holds the store's read gate exclusively, which every read transaction
/// holds shared for its whole life.
#[allow(unsafe_code)]
pub(crate) fn resize_exclusive(env: &Env<WithoutTls>, new_size: usize) -> heed::Result<()> {
    // SAFETY: `mdb_env_set_mapsize` may be called when no transaction is
    // active in this process; the caller guarantees it (see above).
    unsafe { env.resize(round_map_size(new_size)) }
}
