//! [`TieredDag`]: the two tiers, opening them, and the background tasks.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eventdag_lmdb::{LmdbError, LmdbOptions};
use eventdag_postgres::PgDag;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::answers::Answers;
use crate::cache::HotCache;
use crate::freshness::{Freshness, Mode};
use crate::listener::{self, Following};
use crate::{TieredError, TieredOptions};

/// How long `open` waits for a cache directory held by a store of this
/// process that is being dropped.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// An LMDB hot cache in front of PostgreSQL (SPEC §4.4). PostgreSQL is the
/// source of truth: every write commits there before `Ok`; reads are
/// served from the cache when it holds everything they need and its
/// mutable flags are provably fresh (see [`TieredOptions::staleness_bound`]).
/// Cloning shares both tiers.
pub struct TieredDag<P> {
    pub(crate) inner: Arc<Inner<P>>,
}

pub(crate) struct Inner<P> {
    pub(crate) pg: PgDag<P>,
    pub(crate) cache: Arc<HotCache>,
    pub(crate) fresh: Arc<Freshness>,
    /// Remembered descendants and chain answers.
    pub(crate) answers: Arc<Answers>,
    pub(crate) options: TieredOptions,
    tasks: Vec<JoinHandle<()>>,
}

impl<P> Drop for Inner<P> {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl<P> Clone for TieredDag<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<P> std::fmt::Debug for TieredDag<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredDag")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// What [`TieredDag::cache_stats`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Cached events.
    pub entries: u64,
    /// Bytes the budget counts (keys, values, age index).
    pub bytes: u64,
    /// Whether cached flags are served now (a read of the change log
    /// proved the cache complete within the staleness bound).
    pub fresh: bool,
    /// Whether PostgreSQL is unreachable and cached reads are served as
    /// they are (degraded mode).
    pub degraded: bool,
}

/// Opens the cache, starting empty when the directory holds no usable
/// cache: it is only a copy.
async fn open_cache(path: &Path, options: &LmdbOptions) -> Result<HotCache, TieredError> {
    let started = tokio::time::Instant::now();
    loop {
        match HotCache::open(path, options) {
            Ok(cache) => return Ok(cache),
            Err(LmdbError::Locked { .. }) if started.elapsed() < LOCK_WAIT => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(LmdbError::Locked { path }) => return Err(TieredError::CacheLocked { path }),
            Err(error) => {
                // Debug, not Display: it carries the cause of an I/O error.
                tracing::warn!(?error, ?path, "cache unusable; starting with an empty one");
                for file in ["data.mdb", "lock.mdb"] {
                    match std::fs::remove_file(path.join(file)) {
                        Ok(()) => {}
                        Err(io) if io.kind() == std::io::ErrorKind::NotFound => {}
                        Err(source) => {
                            return Err(TieredError::Cache {
                                path: path.to_path_buf(),
                                source: LmdbError::Io {
                                    path: path.join(file),
                                    source,
                                },
                            })
                        }
                    }
                }
                return HotCache::open(path, options).map_err(|source| TieredError::Cache {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

impl<P> TieredDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Opens the cache in directory `lmdb_path` (created if missing; wiped
    /// if unusable) in front of PostgreSQL at `postgres_url`, with the
    /// default [`TieredOptions`]. Must run inside a Tokio runtime.
    ///
    /// # Errors
    /// [`TieredError`]: PostgreSQL unreachable, the cache directory in use
    /// or unusable.
    pub async fn open(
        lmdb_path: impl AsRef<Path>,
        postgres_url: &str,
    ) -> Result<Self, TieredError> {
        Self::open_with(lmdb_path, postgres_url, TieredOptions::default()).await
    }

    /// [`TieredDag::open`] with `options`.
    ///
    /// # Errors
    /// As [`TieredDag::open`].
    pub async fn open_with(
        lmdb_path: impl AsRef<Path>,
        postgres_url: &str,
        options: TieredOptions,
    ) -> Result<Self, TieredError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| TieredError::NoRuntime)?;
        let pg = PgDag::connect_with(postgres_url, options.pg.clone()).await?;
        let cache = Arc::new(open_cache(lmdb_path.as_ref(), &options.lmdb_effective()).await?);
        let fresh = Arc::new(Freshness::new(options.staleness_bound));
        let answers = Arc::new(Answers::new(options.staleness_bound));
        let wake = Arc::new(tokio::sync::Notify::new());
        let tasks = vec![
            runtime.spawn(listener::follow(Following {
                pg: pg.clone(),
                cache: Arc::downgrade(&cache),
                fresh: Arc::clone(&fresh),
                answers: Arc::downgrade(&answers),
                interval: options.poll_interval(),
                wake: Arc::clone(&wake),
                retention: options.pg.get_change_log_retention(),
            })),
            runtime.spawn(listener::listen(pg.clone(), wake, Arc::downgrade(&cache))),
            runtime.spawn(listener::evict(
                Arc::downgrade(&cache),
                options.max_cache_bytes,
                options.max_age,
                options.eviction_interval,
            )),
        ];
        Ok(Self {
            inner: Arc::new(Inner {
                pg,
                cache,
                fresh,
                answers,
                options,
                tasks,
            }),
        })
    }

    /// The PostgreSQL tier (the source of truth), e.g. to subscribe to its
    /// change notifications.
    #[must_use]
    pub fn postgres(&self) -> &PgDag<P> {
        &self.inner.pg
    }

    /// The options in force.
    #[must_use]
    pub fn options(&self) -> &TieredOptions {
        &self.inner.options
    }

    /// The cache's size and whether it is served now.
    #[must_use]
    pub fn cache_stats(&self) -> CacheStats {
        let (entries, bytes) = self.inner.cache.stats();
        let mode = self.inner.fresh.mode();
        CacheStats {
            entries,
            bytes,
            fresh: mode == Mode::Fresh,
            degraded: mode == Mode::Degraded,
        }
    }

    /// Runs the evictor now (it also runs every
    /// [`TieredOptions::eviction_interval`]); returns how many entries went.
    pub fn evict_now(&self) -> usize {
        self.inner.cache.evict(
            self.inner.options.max_cache_bytes,
            self.inner.options.max_age,
        )
    }

    /// Waits until cached flags are served (the first reads of the change
    /// log came back)
    /// or `timeout` passes; whether they are.
    pub async fn wait_fresh(&self, timeout: Duration) -> bool {
        let started = tokio::time::Instant::now();
        while self.inner.fresh.mode() != Mode::Fresh {
            if started.elapsed() >= timeout {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}
