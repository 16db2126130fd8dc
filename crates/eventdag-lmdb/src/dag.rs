//! `LmdbDag`: the handle, opening, and how reads get a transaction.

use std::path::Path;
use std::sync::Arc;

use eventdag::{Effect, ErrorEffect, EventId};
use heed::RoTxn;
use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::error::LmdbError;
use crate::fail::{effect, Fail};
use crate::options::LmdbOptions;
use crate::read_txns::ReadTxns;
use crate::schema::Dbs;
use crate::shared::Shared;
use crate::writer::{Command, Writer};

/// The embedded LMDB store: one directory, no server. Cloning shares the
/// same store (one environment, one writer thread).
pub struct LmdbDag<P> {
    // Declared first so it is dropped first: the writer thread is joined
    // before the environment can close.
    pub(crate) writer: Arc<Writer<P>>,
    pub(crate) shared: Arc<Shared>,
}

impl<P> Clone for LmdbDag<P> {
    fn clone(&self) -> Self {
        Self {
            writer: Arc::clone(&self.writer),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<P> std::fmt::Debug for LmdbDag<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmdbDag")
            .field("path", &self.shared.path)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl<P> LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Opens the store in directory `path` with the default
    /// [`LmdbOptions`]: durable commits, a 1 GiB map that grows by itself,
    /// 1,024 reader slots, 1 MiB payloads. A directory that does not exist
    /// yet or is empty gets a new store; one that holds other files and no
    /// store is refused.
    ///
    /// # Errors
    /// [`LmdbError`]: the directory is unusable or somebody else's, locked
    /// by another process, of an incompatible format, or LMDB failed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LmdbError> {
        Self::open_with(path, LmdbOptions::default())
    }

    /// Opens the existing store in `path` for reading only
    /// ([`LmdbOptions::read_only`]): beside a process that has it open for
    /// writing, creating nothing; writes through it fail.
    ///
    /// # Errors
    /// As [`LmdbDag::open`]; [`LmdbError::NotAStore`] when `path` holds no
    /// store.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, LmdbError> {
        Self::open_with(path, LmdbOptions::default().read_only(true))
    }

    /// Opens the store in `path` with `options`.
    ///
    /// # Errors
    /// As [`LmdbDag::open`].
    pub fn open_with(path: impl AsRef<Path>, options: LmdbOptions) -> Result<Self, LmdbError> {
        let path = path.as_ref();
        let opened = crate::env::open(path, &options)?;
        let slots = usize::try_from(options.max_readers.saturating_sub(1))
            .unwrap_or(1)
            .max(1);
        let shared = Arc::new(Shared {
            read_txns: ReadTxns::default(),
            env: opened.env,
            dbs: opened.dbs,
            gate: RwLock::new(()),
            readers: Arc::new(Semaphore::new(slots)),
            options,
            path: path.to_path_buf(),
            _lock: opened.lock,
        });
        let writer = if options.read_only {
            Writer::refusing()
        } else {
            Writer::start(Arc::clone(&shared)).map_err(LmdbError::WriterThread)?
        };
        Ok(Self {
            writer: Arc::new(writer),
            shared,
        })
    }

    /// The data directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The options the store was opened with.
    #[must_use]
    pub fn options(&self) -> LmdbOptions {
        self.shared.options
    }

    /// The current size of the memory map in bytes (grows by itself).
    #[must_use]
    pub fn map_size(&self) -> usize {
        self.shared.env.info().map_size
    }

    /// Replaces the stored payload bytes of an event without updating its
    /// hash, as disk corruption would; returns whether the event exists.
    /// Only for tests of verification.
    #[doc(hidden)]
    pub async fn simulate_corruption(&self, event_id: EventId, payload_bytes: Vec<u8>) -> bool {
        self.writer
            .call(|job| Command::Corrupt(event_id, payload_bytes, job))
            .await
            .ok()
            .unwrap_or(false)
    }

    /// Runs `query` in a read transaction on the calling thread: for
    /// point reads, which take microseconds on mapped memory.
    pub(crate) async fn read_now<T>(
        &self,
        operation: &str,
        query: impl FnOnce(&RoTxn, &Dbs) -> Result<T, Fail>,
    ) -> Effect<T> {
        // A free permit is taken without building the waiting future
        // (measurable on a hot read); only a full table waits.
        let slot = match self.shared.readers.try_acquire() {
            Ok(permit) => Ok(permit),
            // None free (wait for one) or closed (the wait says so).
            Err(_) => self.shared.readers.acquire().await,
        };
        let Ok(_slot) = slot else {
            return Effect::Err(ErrorEffect::unavailable(operation, "the store is closing"));
        };
        run_read(&self.shared, operation, query)
    }

    /// Runs `query` in a read transaction on the blocking pool: for scans
    /// that may touch thousands of records (walks, chains, listings).
    pub(crate) async fn read_blocking<T: Send + 'static>(
        &self,
        operation: &'static str,
        query: impl FnOnce(&RoTxn, &Dbs) -> Result<T, Fail> + Send + 'static,
    ) -> Effect<T> {
        let Ok(slot) = Arc::clone(&self.shared.readers).acquire_owned().await else {
            return Effect::Err(ErrorEffect::unavailable(operation, "the store is closing"));
        };
        let shared = Arc::clone(&self.shared);
        let task = tokio::task::spawn_blocking(move || {
            let result = run_read(&shared, operation, query);
            drop(slot);
            result
        });
        task.await.unwrap_or_else(|err| {
            Effect::Err(ErrorEffect::unavailable(
                operation,
                format!("the read task failed: {err}"),
            ))
        })
    }
}

fn run_read<T>(
    shared: &Shared,
    operation: &str,
    query: impl FnOnce(&RoTxn, &Dbs) -> Result<T, Fail>,
) -> Effect<T> {
    let _gate = shared.gate.read();
    let result = match shared.read_txns.take(&shared.env) {
        Ok(txn) => {
            let answer = query(&txn, &shared.dbs);
            shared.read_txns.give_back(txn);
            answer
        }
        Err(error) => Err(Fail::from(error)),
    };
    effect(operation, result)
}
