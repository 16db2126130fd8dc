//! [`PgDag`]: the pool, the options, connecting and migrating, and the
//! time bound every call runs under.

use std::future::Future;
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use eventdag::ErrorEffect;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::append::group::Job;
use crate::notify::PgChange;
use crate::sql_error::storage_error;
use crate::{PgError, PgOptions};

/// How many changes a slow subscriber may fall behind before it sees
/// `RecvError::Lagged` (and should resynchronise from its cursors).
const CHANGE_BUFFER: usize = 4096;

/// The EventDag store on PostgreSQL: durable, shared by every node that
/// connects to the same database. Cloning shares the pool.
///
/// Generic over the payload `P`, stored as the `json` text serde_json
/// encodes it to (exactly the bytes its hash covers).
pub struct PgDag<P> {
    pub(crate) inner: Arc<Inner<P>>,
    pub(crate) _payload: PhantomData<fn() -> P>,
}

/// What clones share.
pub(crate) struct Inner<P> {
    pub(crate) pool: PgPool,
    pub(crate) options: PgOptions,
    pub(crate) changes: broadcast::Sender<PgChange>,
    pub(crate) listener: Mutex<Option<JoinHandle<()>>>,
    /// The group committer's queue, started by the first append (it
    /// needs a runtime, which `from_pool` may lack). Dropping it ends the
    /// committer.
    pub(crate) appends: OnceLock<mpsc::UnboundedSender<Job<P>>>,
    /// The notification sender's queue, started by the first write.
    pub(crate) notices: OnceLock<mpsc::UnboundedSender<Vec<String>>>,
}

impl<P> Drop for Inner<P> {
    fn drop(&mut self) {
        let task = self
            .listener
            .get_mut()
            .map_or_else(|poisoned| poisoned.into_inner().take(), Option::take);
        if let Some(task) = task {
            task.abort();
        }
    }
}

impl<P> Clone for PgDag<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _payload: PhantomData,
        }
    }
}

impl<P> std::fmt::Debug for PgDag<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDag")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl<P> PgDag<P> {
    /// Connects with the default [`PgOptions`] and applies the embedded
    /// migrations. `url`: `postgres://user@host:port/database`.
    ///
    /// # Errors
    /// [`PgError`] when the URL is invalid, the server cannot be reached or
    /// the schema cannot be migrated.
    pub async fn connect(url: &str) -> Result<Self, PgError> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// Connects with `options`.
    ///
    /// # Errors
    /// As [`PgDag::connect`].
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self, PgError> {
        let statement_ms = options.statement_timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(url)
            .map_err(|err| PgError::InvalidConfig {
                message: err.to_string(),
            })?
            .options([
                ("statement_timeout", statement_ms.as_str()),
                ("application_name", "eventdag"),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|err| PgError::Connect {
                source: Box::new(err),
            })?;
        let dag = Self::from_pool(pool, options);
        if dag.inner.options.migrate {
            dag.migrate().await?;
        }
        Ok(dag)
    }

    /// A store over an existing pool (whose connections should set a
    /// `statement_timeout`). Applies no migrations.
    #[must_use]
    pub fn from_pool(pool: PgPool, options: PgOptions) -> Self {
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        Self {
            inner: Arc::new(Inner {
                pool,
                options,
                changes,
                listener: Mutex::new(None),
                appends: OnceLock::new(),
                notices: OnceLock::new(),
            }),
            _payload: PhantomData,
        }
    }

    /// Applies the embedded migrations that the database lacks. Safe to
    /// run from several nodes at once: the migrator holds a PostgreSQL
    /// advisory lock while it works, so one node migrates and the others
    /// wait, then find nothing left to do.
    ///
    /// # Errors
    /// [`PgError::Migrate`].
    pub async fn migrate(&self) -> Result<(), PgError> {
        sqlx::migrate!("./migrations")
            .run(&self.inner.pool)
            .await
            .map_err(|err| PgError::Migrate {
                source: Box::new(err),
            })
    }

    /// The pool, for operators' own queries (the schema is documented in
    /// docs/storage-postgres.md).
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The options in force.
    #[must_use]
    pub fn options(&self) -> &PgOptions {
        &self.inner.options
    }

    /// Closes the pool; later calls fail with a storage error.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    /// The statement timeout in milliseconds, for error reports.
    fn statement_ms(&self) -> u64 {
        u64::try_from(self.inner.options.statement_timeout.as_millis()).unwrap_or(u64::MAX)
    }

    /// Maps a driver error of `operation`.
    pub(crate) fn sql(&self, operation: &str, error: &sqlx::Error) -> ErrorEffect {
        storage_error(operation, error, self.statement_ms())
    }

    /// Runs `call` under the operation timeout.
    pub(crate) async fn bounded<T>(
        &self,
        operation: &str,
        call: impl Future<Output = Result<T, ErrorEffect>>,
    ) -> Result<T, ErrorEffect> {
        let limit = self.inner.options.operation_timeout;
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result,
            Err(_) => Err(ErrorEffect::Timeout {
                operation: operation.to_owned(),
                after_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}
