//! What a data directory holds before anything opens it: a store, room
//! for a new one, or somebody else's files. Looked at before the
//! directory lock is taken, because taking it creates files.

use std::path::Path;

use crate::env::LOCK_FILE;
use crate::error::LmdbError;

/// LMDB's data file: its presence is what makes a directory a store.
pub(crate) const DATA_FILE: &str = "data.mdb";

/// LMDB's reader table, created beside the data file.
pub(crate) const READER_TABLE: &str = "lock.mdb";

/// What [`inspect`] found at a data directory path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// Nothing exists at the path.
    Missing,
    /// A directory with nothing in it but what a store leaves without
    /// its data file (a lock file, LMDB's reader table).
    Empty,
    /// A directory with an LMDB data file.
    Store,
    /// A directory holding other files and no data file; one of them.
    Foreign(String),
}

/// Looks at `path` without changing anything.
///
/// # Errors
/// [`LmdbError::NotADirectory`] when `path` is a file; [`LmdbError::Io`]
/// when it cannot be read.
pub(crate) fn inspect(path: &Path) -> Result<Found, LmdbError> {
    let io = |source| LmdbError::Io {
        path: path.to_path_buf(),
        source,
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(error) => return Err(io(error)),
    };
    if !metadata.is_dir() {
        return Err(LmdbError::NotADirectory {
            path: path.to_path_buf(),
        });
    }
    let mut other = None;
    for entry in std::fs::read_dir(path).map_err(io)? {
        let name = entry.map_err(io)?.file_name();
        let name = name.to_string_lossy();
        match name.as_ref() {
            DATA_FILE => return Ok(Found::Store),
            // `lost+found` is what a file system puts at the root of a
            // volume mounted as the data directory: not a user's file.
            LOCK_FILE | READER_TABLE | "lost+found" => {}
            _ => other = other.or_else(|| Some(name.into_owned())),
        }
    }
    Ok(other.map_or(Found::Empty, Found::Foreign))
}

/// Whether a store may be created at `path`, given what is there and
/// whether the caller allows creating one. `Ok` for an existing store.
///
/// # Errors
/// [`LmdbError::NotAStore`] saying what was found instead.
pub(crate) fn require_store(path: &Path, found: &Found, create: bool) -> Result<(), LmdbError> {
    let not_a_store = |found: String| LmdbError::NotAStore {
        path: path.to_path_buf(),
        found,
    };
    match found {
        Found::Store => Ok(()),
        Found::Missing | Found::Empty if create => Ok(()),
        Found::Missing => Err(not_a_store("the directory does not exist".into())),
        Found::Empty => Err(not_a_store(format!("the directory is empty (no {DATA_FILE})"))),
        Found::Foreign(name) => Err(not_a_store(format!(
            "the directory holds other files (such as {name:?}) and no {DATA_FILE}; a new store is only created in a new or empty directory"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tells_stores_from_room_for_one_and_from_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        assert_eq!(inspect(&path.join("missing")).unwrap(), Found::Missing);
        assert_eq!(inspect(path).unwrap(), Found::Empty);
        std::fs::write(path.join(LOCK_FILE), "").unwrap();
        assert_eq!(inspect(path).unwrap(), Found::Empty);
        std::fs::write(path.join("notes.txt"), "mine").unwrap();
        assert_eq!(inspect(path).unwrap(), Found::Foreign("notes.txt".into()));
        std::fs::write(path.join(DATA_FILE), "").unwrap();
        assert_eq!(inspect(path).unwrap(), Found::Store);
        assert!(matches!(
            inspect(&path.join("notes.txt")),
            Err(LmdbError::NotADirectory { .. })
        ));
        let refused = require_store(path, &Found::Foreign("notes.txt".into()), true);
        assert!(refused.unwrap_err().to_string().contains("notes.txt"));
        assert!(require_store(path, &Found::Missing, false).is_err());
        assert!(require_store(path, &Found::Missing, true).is_ok());
    }
}
