//! [`RawStore`]: named tables of raw bytes in an LMDB environment opened
//! exactly as [`crate::LmdbDag`] opens its own (directory lock, reader
//! slots, sync mode), for stores built beside EventDag's — the tiered
//! store's hot cache keeps [`crate::codec`] records in one. It knows no
//! EventDag rules: the caller owns every key and value.

use std::fs::File;
use std::path::{Path, PathBuf};

use heed::types::Bytes;
use heed::{Env, RoTxn, RwTxn, WithoutTls};

use crate::env::{lock_dir, open_env};
use crate::error::LmdbError;
use crate::layout::DATA_FILE;
use crate::options::LmdbOptions;
use crate::schema::Db;

/// Read transactions begun before one finds its snapshot's meta page.
const SNAPSHOT_ATTEMPTS: usize = 10;

/// A key and its value, copied out of the map.
pub type RawEntry = (Vec<u8>, Vec<u8>);

/// An LMDB environment with a fixed list of named tables of raw bytes.
/// Tables are addressed by their index in the list given to
/// [`RawStore::open`].
pub struct RawStore {
    env: Env<WithoutTls>,
    tables: Vec<Db>,
    path: PathBuf,
    _lock: File,
}

impl std::fmt::Debug for RawStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawStore")
            .field("path", &self.path)
            .field("tables", &self.tables.len())
            .finish_non_exhaustive()
    }
}

impl RawStore {
    /// Opens (creating if needed) the environment in directory `path` with
    /// `options` (map size, reader slots, sync mode; the other fields,
    /// read-only included, are ignored) and the tables named in `tables`.
    ///
    /// # Errors
    /// As [`crate::LmdbDag::open`]: [`LmdbError::Locked`] when another
    /// handle holds the directory, [`LmdbError::IncompatibleFormat`] or
    /// [`LmdbError::Corrupted`] for a file LMDB cannot use, I/O errors.
    pub fn open(
        path: impl AsRef<Path>,
        options: &LmdbOptions,
        tables: &[&str],
    ) -> Result<Self, LmdbError> {
        let path = path.as_ref();
        let lock = lock_dir(path)?;
        let options = &options.read_only(false);
        let heed_error = |error| LmdbError::from_heed(path.to_path_buf(), error);
        let max_dbs = u32::try_from(tables.len()).unwrap_or(u32::MAX);
        let env = open_env(path, options, max_dbs)?;
        env.clear_stale_readers().map_err(heed_error)?;
        let mut txn = env.write_txn().map_err(heed_error)?;
        let mut dbs = Vec::with_capacity(tables.len());
        for name in tables {
            dbs.push(
                env.create_database::<Bytes, Bytes>(&mut txn, Some(name))
                    .map_err(heed_error)?,
            );
        }
        txn.commit().map_err(heed_error)?;
        Ok(Self {
            env,
            tables: dbs,
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, error: heed::Error) -> LmdbError {
        LmdbError::from_heed(self.path.clone(), error)
    }

    fn table(&self, table: usize) -> Result<Db, LmdbError> {
        self.tables
            .get(table)
            .copied()
            .ok_or_else(|| LmdbError::Lmdb {
                path: self.path.clone(),
                message: format!("no table {table} (the store has {})", self.tables.len()),
            })
    }

    /// Reads every page of the current snapshot from the data file (not
    /// through the map) and checks that it is an intact LMDB page, so that
    /// a store whose file was damaged at rest can be thrown away before a
    /// read follows a damaged page (opening checks only what opening
    /// touches). Linear in the file's size.
    ///
    /// # Errors
    /// [`LmdbError::Damaged`] naming the file and what it holds.
    pub fn check_pages(&self) -> Result<(), LmdbError> {
        let file = self.path.join(DATA_FILE);
        for _ in 0..SNAPSHOT_ATTEMPTS {
            let txn = self.env.read_txn().map_err(|error| self.error(error))?;
            let txnid = u64::try_from(txn.id()).unwrap_or(u64::MAX);
            // Holding `txn` keeps the snapshot's pages from being reused;
            // `false`: two commits overwrote its meta page, take a new one.
            if crate::file_check::every_page(&file, txnid)? {
                return Ok(());
            }
        }
        Err(LmdbError::Lmdb {
            path: self.path.clone(),
            message:
                "writers committed faster than the pages of a snapshot could be checked; retry"
                    .into(),
        })
    }

    /// Runs `read` in one read transaction (a consistent snapshot; many
    /// run at once, on any thread).
    ///
    /// # Errors
    /// LMDB failures, and whatever `read` returns.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&RawRead<'_>) -> Result<T, LmdbError>,
    ) -> Result<T, LmdbError> {
        let txn = self.env.read_txn().map_err(|error| self.error(error))?;
        read(&RawRead { store: self, txn })
    }

    /// Runs `write` in one write transaction, committed when it returns
    /// `Ok` and aborted (nothing written) when it returns `Err`. Write
    /// transactions of all threads take turns.
    ///
    /// # Errors
    /// LMDB failures (e.g. the map is full), and whatever `write` returns.
    pub fn write<T>(
        &self,
        write: impl FnOnce(&mut RawWrite<'_>) -> Result<T, LmdbError>,
    ) -> Result<T, LmdbError> {
        let txn = self.env.write_txn().map_err(|error| self.error(error))?;
        let mut writer = RawWrite { store: self, txn };
        let value = write(&mut writer)?;
        writer.txn.commit().map_err(|error| self.error(error))?;
        Ok(value)
    }
}

/// A read transaction of a [`RawStore`].
pub struct RawRead<'s> {
    store: &'s RawStore,
    txn: RoTxn<'s, WithoutTls>,
}

impl RawRead<'_> {
    /// The value of `key` in `table`, borrowed from the map.
    ///
    /// # Errors
    /// LMDB failures; an unknown table.
    pub fn get(&self, table: usize, key: &[u8]) -> Result<Option<&[u8]>, LmdbError> {
        self.store
            .table(table)?
            .get(&self.txn, key)
            .map_err(|error| self.store.error(error))
    }

    /// How many entries `table` holds.
    ///
    /// # Errors
    /// LMDB failures; an unknown table.
    pub fn len(&self, table: usize) -> Result<u64, LmdbError> {
        self.store
            .table(table)?
            .len(&self.txn)
            .map_err(|error| self.store.error(error))
    }
}

/// A write transaction of a [`RawStore`].
pub struct RawWrite<'s> {
    store: &'s RawStore,
    txn: RwTxn<'s>,
}

impl RawWrite<'_> {
    /// The value of `key` in `table` as this transaction sees it.
    ///
    /// # Errors
    /// LMDB failures; an unknown table.
    pub fn get(&self, table: usize, key: &[u8]) -> Result<Option<&[u8]>, LmdbError> {
        self.store
            .table(table)?
            .get(&self.txn, key)
            .map_err(|error| self.store.error(error))
    }

    /// Stores `value` under `key`, replacing any value.
    ///
    /// # Errors
    /// LMDB failures (a full map among them); an unknown table.
    pub fn put(&mut self, table: usize, key: &[u8], value: &[u8]) -> Result<(), LmdbError> {
        self.store
            .table(table)?
            .put(&mut self.txn, key, value)
            .map_err(|error| self.store.error(error))
    }

    /// Deletes `key`; whether it was there.
    ///
    /// # Errors
    /// LMDB failures; an unknown table.
    pub fn delete(&mut self, table: usize, key: &[u8]) -> Result<bool, LmdbError> {
        self.store
            .table(table)?
            .delete(&mut self.txn, key)
            .map_err(|error| self.store.error(error))
    }

    /// The first `count` entries of `table` in key order.
    ///
    /// # Errors
    /// LMDB failures; an unknown table.
    pub fn first(&self, table: usize, count: usize) -> Result<Vec<RawEntry>, LmdbError> {
        let iter = self
            .store
            .table(table)?
            .iter(&self.txn)
            .map_err(|error| self.store.error(error))?;
        let mut out = Vec::with_capacity(count.min(1024));
        for entry in iter.take(count) {
            let (key, value) = entry.map_err(|error| self.store.error(error))?;
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Deletes every entry of `table`.
    ///
    /// # Errors
    /// LMDB failures; an unknown table.
    pub fn clear(&mut self, table: usize) -> Result<(), LmdbError> {
        self.store
            .table(table)?
            .clear(&mut self.txn)
            .map_err(|error| self.store.error(error))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tables_commit_on_ok_and_abort_on_err() {
        let dir = tempfile::tempdir().unwrap();
        let options = LmdbOptions::default().map_size(1 << 20);
        let store = RawStore::open(dir.path(), &options, &["a", "b"]).unwrap();
        store
            .write(|w| {
                w.put(0, b"k2", b"v2")?;
                w.put(0, b"k1", b"v1")?;
                w.put(1, b"k1", b"other")
            })
            .unwrap();
        let failed: Result<(), LmdbError> = store.write(|w| {
            w.put(0, b"k3", b"v3")?;
            w.put(7, b"k", b"v")
        });
        assert!(failed.is_err());
        store
            .read(|r| {
                assert_eq!(r.get(0, b"k1")?, Some(&b"v1"[..]));
                assert_eq!(r.get(1, b"k1")?, Some(&b"other"[..]));
                assert_eq!(r.get(0, b"k3")?, None);
                assert_eq!(r.len(0)?, 2);
                Ok(())
            })
            .unwrap();
        let first = store.write(|w| w.first(0, 1)).unwrap();
        assert_eq!(first, vec![(b"k1".to_vec(), b"v1".to_vec())]);
        assert!(matches!(
            RawStore::open(dir.path(), &options, &["a"]),
            Err(LmdbError::Locked { .. })
        ));
    }
}
