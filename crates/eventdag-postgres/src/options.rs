//! [`PgOptions`]: every knob of a [`crate::PgDag`], with defaults that need
//! no change for correct behaviour.

use std::time::Duration;

use eventdag::backend::AppendLimits;

/// How a [`crate::PgDag`] connects and bounds its calls.
///
/// ```
/// use std::time::Duration;
/// use eventdag_postgres::PgOptions;
///
/// let options = PgOptions::new()
///     .max_connections(4)
///     .operation_timeout(Duration::from_secs(2));
/// assert_eq!(options.get_operation_timeout(), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    pub(crate) max_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) operation_timeout: Duration,
    pub(crate) limits: AppendLimits,
    pub(crate) notify: bool,
    pub(crate) migrate: bool,
    pub(crate) change_log_retention: Duration,
}

/// How long change-log rows are kept unless configured.
pub const DEFAULT_CHANGE_LOG_RETENTION: Duration = Duration::from_secs(60 * 60);

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(15),
            limits: AppendLimits::default(),
            notify: true,
            migrate: true,
            change_log_retention: DEFAULT_CHANGE_LOG_RETENTION,
        }
    }
}

impl PgOptions {
    /// The defaults: 16 connections, acquire timeout 5 s, statement
    /// timeout 10 s, operation timeout 15 s, payloads up to 1 MiB,
    /// notifications on, migrations applied on connect, change-log rows
    /// kept for an hour.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Most pooled connections (default 16; at least 1).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a call waits for a pooled connection, which includes
    /// connecting when the pool is empty (default 5 s).
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// PostgreSQL's `statement_timeout` on every connection (default 10 s):
    /// the server cancels a statement running longer.
    #[must_use]
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The bound on every call of the store, end to end (default 15 s).
    /// A call that has not finished by then returns
    /// [`eventdag::ErrorEffect::Timeout`]; a write cut off this way is
    /// rolled back unless its commit already reached the server — retry an
    /// append with the same event id to find out (appends are idempotent).
    #[must_use]
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Validation limits, e.g. the largest payload (default 1 MiB).
    #[must_use]
    pub fn limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether writes announce themselves with `NOTIFY` after they commit
    /// (default on; see [`crate::PgChange`]). Off saves one round trip per
    /// write when nobody subscribes.
    #[must_use]
    pub fn notify(mut self, notify: bool) -> Self {
        self.notify = notify;
        self
    }

    /// How long rows of the durable change log (`eventdag_changes`) are
    /// kept before they may be pruned (default 1 h, at least 1 s). A
    /// reader that falls further behind — a cache node cut off from
    /// PostgreSQL for longer — learns that it missed changes and
    /// distrusts its cache (see [`crate::ChangePage::missed`]).
    #[must_use]
    pub fn change_log_retention(mut self, retention: Duration) -> Self {
        self.change_log_retention = retention.max(Duration::from_secs(1));
        self
    }

    /// The configured change-log retention.
    #[must_use]
    pub fn get_change_log_retention(&self) -> Duration {
        self.change_log_retention
    }

    /// Whether `connect` applies the embedded migrations (default on).
    /// Off for deployments that run [`crate::PgDag::migrate`] from one place.
    #[must_use]
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// The configured operation timeout.
    #[must_use]
    pub fn get_operation_timeout(&self) -> Duration {
        self.operation_timeout
    }
}
