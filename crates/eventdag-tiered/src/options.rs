//! [`TieredOptions`]: the hot window, the staleness bound and the options
//! passed through to both tiers, each with a default that needs no change
//! for correct behaviour.

use std::path::Path;
use std::time::Duration;

use eventdag_lmdb::{LmdbOptions, SyncMode};
use eventdag_postgres::PgOptions;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{TieredDag, TieredError};

/// Default cache budget: 256 MiB of cached records.
pub const DEFAULT_MAX_CACHE_BYTES: u64 = 256 << 20;
/// Default longest time a record stays cached after it was filled: 1 hour.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// Default staleness bound on mutable state served from the cache: 1 s.
pub const DEFAULT_STALENESS_BOUND: Duration = Duration::from_secs(1);

/// Options for [`TieredDag::open_with`].
///
/// ```
/// use std::time::Duration;
/// use eventdag_tiered::TieredOptions;
///
/// let options = TieredOptions::new()
///     .max_cache_bytes(64 << 20)
///     .max_age(Duration::from_secs(600))
///     .staleness_bound(Duration::from_millis(500));
/// assert_eq!(options.get_staleness_bound(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone)]
pub struct TieredOptions {
    pub(crate) max_cache_bytes: u64,
    pub(crate) max_age: Duration,
    pub(crate) staleness_bound: Duration,
    pub(crate) eviction_interval: Duration,
    pub(crate) pg: PgOptions,
    pub(crate) lmdb: LmdbOptions,
}

impl Default for TieredOptions {
    fn default() -> Self {
        Self {
            max_cache_bytes: DEFAULT_MAX_CACHE_BYTES,
            max_age: DEFAULT_MAX_AGE,
            staleness_bound: DEFAULT_STALENESS_BOUND,
            eviction_interval: Duration::from_secs(1),
            pg: PgOptions::default(),
            lmdb: LmdbOptions::default().sync_mode(SyncMode::NoSync),
        }
    }
}

impl TieredOptions {
    /// The defaults: [`DEFAULT_MAX_CACHE_BYTES`], [`DEFAULT_MAX_AGE`],
    /// [`DEFAULT_STALENESS_BOUND`], eviction every second, `PgOptions`'
    /// defaults, and LMDB's defaults with [`SyncMode::NoSync`] (the cache
    /// is rebuilt from PostgreSQL, so it never pays for an `fsync`).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The cache budget in bytes of cached records (keys, values and the
    /// age index). The evictor keeps the cache under it, oldest fills
    /// first. The LMDB map is sized to at least twice the budget.
    #[must_use]
    pub fn max_cache_bytes(mut self, bytes: u64) -> Self {
        self.max_cache_bytes = bytes.max(1);
        self
    }

    /// How long a record stays cached after it was filled (default
    /// [`DEFAULT_MAX_AGE`]). Together with the budget this is the hot
    /// window.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = age;
        self
    }

    /// The longest time a mutable field (ACKNOWLEDGED, COMPENSATED) served
    /// from the cache may lag a commit on any node (default
    /// [`DEFAULT_STALENESS_BOUND`], at least 20 ms). The node reads
    /// PostgreSQL's durable change log every quarter of it (and at once
    /// when a notification wakes it); while no read has proven the cache
    /// complete within the bound, reads go to PostgreSQL.
    #[must_use]
    pub fn staleness_bound(mut self, bound: Duration) -> Self {
        self.staleness_bound = bound.max(Duration::from_millis(20));
        self
    }

    /// How often the evictor runs (default 1 s).
    #[must_use]
    pub fn eviction_interval(mut self, interval: Duration) -> Self {
        self.eviction_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Options of the PostgreSQL tier (pool, timeouts, limits). Its
    /// notifications are always on: the tiers depend on them.
    #[must_use]
    pub fn postgres(mut self, options: PgOptions) -> Self {
        self.pg = options;
        self
    }

    /// Options of the LMDB environment of the cache (map size, reader
    /// slots, sync mode). Append limits in it are ignored: PostgreSQL's
    /// apply.
    #[must_use]
    pub fn lmdb(mut self, options: LmdbOptions) -> Self {
        self.lmdb = options;
        self
    }

    /// The configured staleness bound.
    #[must_use]
    pub fn get_staleness_bound(&self) -> Duration {
        self.staleness_bound
    }

    /// How often the change log is read without a wake-up: a quarter of
    /// the bound.
    pub(crate) fn poll_interval(&self) -> Duration {
        self.staleness_bound / 4
    }

    /// The LMDB options actually used: the map at least twice the budget
    /// plus 32 MiB, so that eviction always has room to run.
    pub(crate) fn lmdb_effective(&self) -> LmdbOptions {
        let budget = usize::try_from(self.max_cache_bytes).unwrap_or(usize::MAX);
        let floor = budget.saturating_mul(2).saturating_add(32 << 20);
        self.lmdb.map_size(self.lmdb.get_map_size().max(floor))
    }

    /// Opens the store with these options.
    ///
    /// # Errors
    /// See [`TieredError`].
    pub async fn open<P>(
        self,
        lmdb_path: impl AsRef<Path>,
        postgres_url: &str,
    ) -> Result<TieredDag<P>, TieredError>
    where
        P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    {
        TieredDag::open_with(lmdb_path, postgres_url, self).await
    }
}
