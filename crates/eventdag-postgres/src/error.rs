//! Errors of opening a [`crate::PgDag`]. Errors of the store's operations
//! are [`eventdag::ErrorEffect`]s (see `sql_error.rs` for the mapping).

/// Why [`crate::PgDag::connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The URL or an option could not be parsed. Fix the configuration.
    #[error("invalid PostgreSQL configuration: {message}")]
    InvalidConfig {
        /// What was wrong.
        message: String,
    },
    /// The server could not be reached or refused the connection within
    /// the acquire timeout. Check that PostgreSQL runs and the URL is
    /// right, then retry.
    #[error("cannot connect to PostgreSQL: {source}")]
    Connect {
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The embedded schema migrations failed (for example a newer schema
    /// than this build knows, or a migration edited after it was applied).
    /// Do not retry blindly: an operator must look.
    #[error("cannot migrate the EventDag schema: {source}")]
    Migrate {
        /// The migrator's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
