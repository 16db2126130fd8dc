//! Maps driver errors to [`ErrorEffect`] by kind — SQLSTATE classes and
//! constraint names, never message text.

use eventdag::ErrorEffect;

/// SQLSTATE codes and classes the store reacts to (PostgreSQL appendix A).
mod sqlstate {
    /// `query_canceled`: `statement_timeout` fired.
    pub(super) const QUERY_CANCELED: &str = "57014";
    /// Class 22, data exception: a value the column type refuses.
    pub(super) const DATA_EXCEPTION_CLASS: &str = "22";
}

/// Unique constraints whose violation means something to the caller.
pub(crate) mod constraint {
    /// Two events of one tenant at one (lane, sequence).
    pub(crate) const LANE_SEQUENCE: &str = "eventdag_events_lane_sequence_key";
    /// Two events with one id (possibly in two tenants).
    pub(crate) const EVENT_ID: &str = "eventdag_event_ids_pkey";
    /// A tenant id taken.
    pub(crate) const TENANT_ID: &str = "eventdag_tenants_pkey";
    /// A tenant name taken.
    pub(crate) const TENANT_NAME: &str = "eventdag_tenants_name_key";
    /// An API key prefix taken.
    pub(crate) const API_KEY_PREFIX: &str = "eventdag_api_keys_pkey";
}

/// The unique constraint a failed statement violated, if that is why it
/// failed.
pub(crate) fn violated_unique(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.constraint().unwrap_or_default().to_owned())
        }
        _ => None,
    }
}

/// Whether a failed statement violated a foreign key.
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// The operational (or, for refused values, invalid-input) error of a
/// failed call.
pub(crate) fn storage_error(
    operation: &str,
    error: &sqlx::Error,
    statement_timeout_ms: u64,
) -> ErrorEffect {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if code == sqlstate::QUERY_CANCELED {
                ErrorEffect::Timeout {
                    operation: operation.to_owned(),
                    after_ms: statement_timeout_ms,
                }
            } else if code.starts_with(sqlstate::DATA_EXCEPTION_CLASS) {
                ErrorEffect::invalid(
                    "payload",
                    format!("PostgreSQL refused a value during {operation}: {db}; accepted: values within the columns' ranges (docs/storage-postgres.md)"),
                )
            } else {
                ErrorEffect::unavailable(operation, format!("PostgreSQL error {code}: {db}"))
            }
        }
        sqlx::Error::PoolTimedOut => ErrorEffect::unavailable(
            operation,
            "no PostgreSQL connection could be had within the acquire timeout; is the server up?",
        ),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => ErrorEffect::corrupt(None, error),
        // The driver's words ("expected to read 5 bytes…") describe the
        // socket, not the operation: say what failed first.
        other => ErrorEffect::unavailable(
            operation,
            format!("the connection to PostgreSQL failed ({other})"),
        ),
    }
}

/// `error`, for a write that failed before its COMMIT was sent, saying
/// that nothing of it was written (the transaction is rolled back when it
/// is dropped).
pub(crate) fn nothing_written(error: ErrorEffect) -> ErrorEffect {
    match error {
        ErrorEffect::StorageUnavailable { operation, message } => ErrorEffect::StorageUnavailable {
            message: format!("{message}; nothing of this {operation} was written"),
            operation,
        },
        other => other,
    }
}
