//! COMMIT, and what a failure means on either side of it. Before COMMIT
//! is sent nothing can have been written: dropping the transaction rolls
//! it back. Once it is sent, an error — the connection lost, the server
//! gone, the time bound passed — leaves the outcome unknown: the commit
//! may have reached the WAL before the answer was lost. Such a failure is
//! [`ErrorEffect::OutcomeUnknown`], naming the event whose state tells,
//! never "storage unavailable", which says nothing was written.
//!
//! (**Choice**) Every error of COMMIT counts, also one PostgreSQL itself
//! answered (a deferred constraint, say), which did roll back: telling the
//! kinds apart buys nothing, since finding out — a read, or a retry with
//! the same ids — is right either way.

use std::future::Future;
use std::sync::{Mutex, PoisonError};

use eventdag::{ErrorEffect, EventId};
use sqlx::{Postgres, Transaction};

use crate::PgDag;

/// How a caller finds out what became of a write whose COMMIT failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// An append: read the event, or append again with the same ids.
    Append,
    /// An acknowledgment: read the event's flags, or acknowledge again.
    Acknowledge,
    /// A signal: list the event's signals before sending it again.
    Signal,
}

impl Recovery {
    fn advice(self, event_id: EventId) -> String {
        match self {
            Self::Append => format!(
                "read event {event_id} to find out (the append is all or none: if that event is stored, all of it is), or retry the same append with the same ids, event {event_id} included (appends are idempotent: a stored event is answered, not stored twice; retrying without the ids may store the events twice)"
            ),
            Self::Acknowledge => format!(
                "read event {event_id} to see whether it is acknowledged, or acknowledge it again (idempotent)"
            ),
            Self::Signal => format!(
                "list the signals of event {event_id} to see whether it was stored before sending it again (a signal sent twice is stored and delivered twice)"
            ),
        }
    }

    fn unknown(self, operation: &str, event_id: EventId, what: &str) -> ErrorEffect {
        ErrorEffect::OutcomeUnknown {
            operation: operation.to_owned(),
            event_id,
            message: format!(
                "{what} while PostgreSQL committed the {operation} of event {event_id}, so it may or may not have been stored; {}",
                self.advice(event_id)
            ),
        }
    }
}

/// Which write's COMMIT is in flight, if any. Lives outside the future
/// that the operation timeout drops, so that a timeout during COMMIT is
/// reported as an unknown outcome, not as a timeout that wrote nothing.
#[derive(Debug, Default)]
pub(crate) struct CommitWatch {
    in_flight: Mutex<Option<(EventId, Recovery)>>,
}

impl CommitWatch {
    fn set(&self, value: Option<(EventId, Recovery)>) {
        // The guarded value is a plain copy: a poisoned lock holds a
        // usable one.
        *self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = value;
    }

    fn get(&self) -> Option<(EventId, Recovery)> {
        *self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<P> PgDag<P> {
    /// Commits `tx`. An error is [`ErrorEffect::OutcomeUnknown`] naming
    /// `event_id`, with `recovery`'s advice.
    pub(crate) async fn commit(
        &self,
        tx: Transaction<'static, Postgres>,
        watch: &CommitWatch,
        operation: &str,
        event_id: EventId,
        recovery: Recovery,
    ) -> Result<(), ErrorEffect> {
        watch.set(Some((event_id, recovery)));
        let result = tx.commit().await;
        watch.set(None);
        result.map_err(|error| {
            let what = format!("the COMMIT failed ({error})");
            recovery.unknown(operation, event_id, &what)
        })
    }

    /// Runs the write `call` under the operation timeout; a timeout while
    /// its COMMIT is in flight is [`ErrorEffect::OutcomeUnknown`].
    pub(crate) async fn bounded_write<T>(
        &self,
        operation: &str,
        watch: &CommitWatch,
        call: impl Future<Output = Result<T, ErrorEffect>>,
    ) -> Result<T, ErrorEffect> {
        let result = self.bounded(operation, call).await;
        match (result, watch.get()) {
            (Err(ErrorEffect::Timeout { after_ms, .. }), Some((event_id, recovery))) => {
                let what = format!("the operation timeout of {after_ms} ms passed");
                Err(recovery.unknown(operation, event_id, &what))
            }
            (other, _) => other,
        }
    }
}
