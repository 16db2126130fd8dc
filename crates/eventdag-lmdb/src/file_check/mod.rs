//! Checking an LMDB data file before it is mapped.
//!
//! LMDB reads its data file through a memory map and trusts it: a page
//! number, a node offset or a value size it reads is followed as it is. A
//! `data.mdb` truncated below what its meta page promises makes the first
//! read past the end raise SIGBUS; random bytes over its pages make LMDB
//! follow garbage offsets out of the page, the file or the map (SIGBUS,
//! SIGSEGV) or trip one of its assertions (SIGABRT in debug builds). A
//! signal kills the process on every start; no Rust code can catch it.
//! Neither LMDB (0.9 has no `mdb_env_check`) nor heed offers a check that
//! runs without mapping the file, so this module reads the parts of the
//! layout it needs by hand (`format.rs`, after `mdb.c`), with `pread` and
//! bounds checks only: no `unsafe`, and nothing in it trusts the file.
//!
//! Two depths (`walk.rs`):
//!
//! - [`before_open`], on every open: the two meta pages, the file's length
//!   against the last page the newer one says is in use (a shorter file
//!   is sound only if every missing page is free: LMDB never writes pages
//!   freed again before their commit), the main table whole (a few pages:
//!   it names the tables) and the root page of every table. That is what
//!   opening and the first read of each table touch.
//! - [`every_page`], for `check_consistency` (`eventdag verify`) and the
//!   tiered store's cache: every page reachable from every root, with its
//!   nodes and overflow runs inside it and inside the file, and no page
//!   reached twice.
//!
//! What remains is said in `docs/storage-lmdb.md` ("A damaged data file").

mod format;
mod walk;

use std::path::Path;

use crate::error::LmdbError;
use walk::{DataFile, Depth, Walker};

/// How often [`before_open`] reads the file again when a writer in another
/// process committed while it was being checked.
const ATTEMPTS: usize = 20;

/// `format.rs` reads the layout of 64-bit builds (8-byte page numbers);
/// elsewhere the file is left to LMDB unchecked.
const LAYOUT_KNOWN: bool = cfg!(target_pointer_width = "64");

/// What the file promises and what it holds instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    expected: String,
    found: String,
}

impl Damage {
    fn new(expected: impl Into<String>, found: impl Into<String>) -> Self {
        Self {
            expected: expected.into(),
            found: found.into(),
        }
    }

    fn into_error(self, file: &Path) -> LmdbError {
        LmdbError::Damaged {
            file: file.to_path_buf(),
            expected: self.expected,
            found: self.found,
        }
    }
}

/// Checks what opening will touch of the data file `file`. A missing
/// file (a new store) and a file that is not LMDB's at all (which LMDB
/// refuses by itself, as not an LMDB file) pass.
///
/// Another process may be writing the file meanwhile (a read-only open
/// beside a server): a check that saw the newest meta page change while
/// it read pages is repeated, because the writer may have reused pages of
/// the older snapshot; pages of the newest one are never overwritten while
/// it is the newest. A writer that commits through every attempt is alive
/// and well, and the file passes.
///
/// # Errors
/// [`LmdbError::Damaged`] saying what the file promises and holds;
/// [`LmdbError::Io`] when it cannot be read.
pub(crate) fn before_open(file: &Path) -> Result<(), LmdbError> {
    if !LAYOUT_KNOWN {
        return Ok(());
    }
    let data = match DataFile::open(file) {
        Ok(data) => data,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(LmdbError::Io {
                path: file.to_path_buf(),
                source,
            })
        }
    };
    let mut failed: Option<Damage> = None;
    for _ in 0..ATTEMPTS {
        let snapshot = match data.snapshot() {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => return Ok(()),
            // A meta page is read again once: a writer may be writing it.
            Err(damage) if failed.as_ref() == Some(&damage) => return Err(damage.into_error(file)),
            Err(damage) => {
                failed = Some(damage);
                continue;
            }
        };
        let verdict = Walker::new(&data, snapshot).check(Depth::Opening);
        let still = data.snapshot().ok().flatten().map(|now| now.meta.txnid);
        if still == Some(snapshot.meta.txnid) {
            return verdict.map_err(|damage| damage.into_error(file));
        }
    }
    failed.map_or(Ok(()), |damage| Err(damage.into_error(file)))
}

/// Checks every page of the snapshot that transaction `txnid` committed;
/// the caller holds a read transaction of that snapshot, so that none of
/// its pages is reused while they are read. `Ok(false)`: no meta page
/// holds that snapshot any more (a writer committed twice since the read
/// transaction began); begin a new one and ask again.
///
/// # Errors
/// As [`before_open`].
pub(crate) fn every_page(file: &Path, txnid: u64) -> Result<bool, LmdbError> {
    if !LAYOUT_KNOWN {
        return Ok(true);
    }
    let data = DataFile::open(file).map_err(|source| LmdbError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let snapshot = match data.snapshot_of(txnid) {
        Ok(Some(snapshot)) => snapshot,
        Ok(None) => return Ok(false),
        Err(damage) => return Err(damage.into_error(file)),
    };
    Walker::new(&data, snapshot)
        .check(Depth::Every)
        .map_err(|damage| damage.into_error(file))?;
    Ok(true)
}
