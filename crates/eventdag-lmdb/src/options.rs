//! `LmdbOptions`: every knob of the store with a default that a user never
//! needs to change to get correct, durable behaviour.

use std::path::Path;

use eventdag::backend::AppendLimits;

use crate::{LmdbDag, LmdbError};

/// How commits reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncMode {
    /// Every commit is flushed to disk (`fsync`) before `Ok` is returned:
    /// an acknowledged write survives `kill -9` and power loss. The default.
    #[default]
    Durable,
    /// Commits are not flushed (`MDB_NOSYNC`): an acknowledged write
    /// survives `kill -9` of the process (it is in the OS page cache) but
    /// the last commits may be lost, and the file may need recovery from a
    /// backup, after an OS crash or power loss. Several times faster for
    /// single appends. Off unless chosen.
    NoSync,
    /// Commits flush the data pages but not the meta page that makes them
    /// current (`MDB_NOMETASYNC`): one `fdatasync` per commit instead of
    /// two. An acknowledged write survives `kill -9`; after an OS crash or
    /// power loss the store opens intact (LMDB keeps the previous meta
    /// page valid) but may have lost the last commit, which the next
    /// commit's flush would have made durable. Off unless chosen; see
    /// docs/storage-lmdb.md for the measured difference.
    NoMetaSync,
}

/// Default initial map size: 1 GiB. The data file only takes the space
/// its data needs; the map is address space.
pub const DEFAULT_MAP_SIZE: usize = 1 << 30;
/// Default largest map size the store grows to by itself: 1 TiB.
pub const DEFAULT_MAX_MAP_SIZE: usize = 1 << 40;
/// Default reader slots: 1,024 (LMDB's own default is 126).
pub const DEFAULT_MAX_READERS: u32 = 1024;
/// Default most queued writes committed together in one transaction.
pub const DEFAULT_GROUP_COMMIT: usize = 64;

/// Options for [`LmdbDag::open_with`].
///
/// ```
/// use eventdag_lmdb::{LmdbOptions, SyncMode};
/// let options = LmdbOptions::default().map_size(64 << 20).sync_mode(SyncMode::Durable);
/// assert_eq!(options.get_map_size(), 64 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LmdbOptions {
    pub(crate) map_size: usize,
    pub(crate) max_map_size: usize,
    pub(crate) max_readers: u32,
    pub(crate) sync_mode: SyncMode,
    pub(crate) limits: AppendLimits,
    pub(crate) group_commit: usize,
    pub(crate) read_only: bool,
    pub(crate) create: bool,
}

impl Default for LmdbOptions {
    fn default() -> Self {
        Self {
            map_size: DEFAULT_MAP_SIZE,
            max_map_size: DEFAULT_MAX_MAP_SIZE,
            max_readers: DEFAULT_MAX_READERS,
            sync_mode: SyncMode::Durable,
            limits: AppendLimits::default(),
            group_commit: DEFAULT_GROUP_COMMIT,
            read_only: false,
            create: true,
        }
    }
}

impl LmdbOptions {
    /// Initial size of the memory map in bytes (default
    /// [`DEFAULT_MAP_SIZE`]); rounded up to the page size. When the map is
    /// full the store doubles it, up to [`LmdbOptions::max_map_size`].
    #[must_use]
    pub fn map_size(mut self, bytes: usize) -> Self {
        self.map_size = bytes;
        self
    }

    /// The largest map the store grows to by itself (default
    /// [`DEFAULT_MAX_MAP_SIZE`]). Past it, writes fail with an operational
    /// "map full" error until the store is reopened with a larger value.
    #[must_use]
    pub fn max_map_size(mut self, bytes: usize) -> Self {
        self.max_map_size = bytes;
        self
    }

    /// Reader slots (default [`DEFAULT_MAX_READERS`]). Reads wait for a free
    /// slot instead of failing, so this bounds concurrency, not success.
    #[must_use]
    pub fn max_readers(mut self, readers: u32) -> Self {
        self.max_readers = readers.max(2);
        self
    }

    /// How commits reach the disk (default [`SyncMode::Durable`]).
    #[must_use]
    pub fn sync_mode(mut self, mode: SyncMode) -> Self {
        self.sync_mode = mode;
        self
    }

    /// Validation limits, such as the largest payload (default
    /// [`AppendLimits::default`]: 1 MiB).
    #[must_use]
    pub fn limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The most queued writes the writer thread commits in one
    /// transaction (default [`DEFAULT_GROUP_COMMIT`]; 1 disables group
    /// commit). Each write is still validated on its own and a refused one
    /// writes nothing.
    #[must_use]
    pub fn group_commit(mut self, writes: usize) -> Self {
        self.group_commit = writes.max(1);
        self
    }

    /// Opens the store for reading only (default `false`): beside the
    /// process that has it open for writing (a running server, say), since
    /// it takes no directory lock; never creates a file of the store (LMDB
    /// adds its reader table, `lock.mdb`, if it is missing); refuses a
    /// directory without a store ([`LmdbError::NotAStore`]). Every write
    /// through it fails with an operational error that says so. The map is
    /// sized to [`LmdbOptions::max_map_size`] (address space only), so the
    /// writer growing the file never invalidates it.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Whether opening may create a new store (default `true`), in a
    /// directory that does not exist yet or is empty. A directory that
    /// holds other files and no store is refused either way
    /// ([`LmdbError::NotAStore`]); so is any directory without a store
    /// when this is `false` or the store is opened read-only.
    #[must_use]
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// The initial map size.
    #[must_use]
    pub fn get_map_size(&self) -> usize {
        self.map_size
    }

    /// The sync mode.
    #[must_use]
    pub fn get_sync_mode(&self) -> SyncMode {
        self.sync_mode
    }

    /// Whether the store is opened for reading only.
    #[must_use]
    pub fn get_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether opening may create a new store.
    #[must_use]
    pub fn get_create(&self) -> bool {
        self.create
    }

    /// Opens the store in directory `path` with these options (creating
    /// it in a new or empty directory, unless told not to).
    ///
    /// # Errors
    /// See [`LmdbError`].
    pub fn open<P>(self, path: impl AsRef<Path>) -> Result<LmdbDag<P>, LmdbError>
    where
        P: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    {
        LmdbDag::open_with(path, self)
    }
}
