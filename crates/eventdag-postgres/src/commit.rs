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
    /// Redaction, chain removal, tenant erasure: each is idempotent.
    Forget,
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
            Self::Forget => format!(
                "repeat the call to find out: redaction, chain removal and tenant erasure are idempotent (event {event_id} is the one it concerns)"
            ),
            Self::Signal => format!(
                "list the signals of event {event_id} to see whether it was stored before sending it again (a signal sent twice is stored and delivered twice)"
            ),
        }
    }

    pub(crate) fn unknown(self, operation: &str, event_id: EventId, what: &str) -> ErrorEffect {
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

/// Which write's COMMIT may be in flight, if any. Lives outside the
/// future that the operation timeout drops, so that a timeout during
/// COMMIT is reported as an unknown outcome, not as a timeout that wrote
/// nothing. An append handed to the group committer is "in flight" from
/// the moment the committer takes it into a group; a caller that times out
/// before that cancels it, so the committer never writes it.
#[derive(Debug, Default)]
pub(crate) struct CommitWatch {
    state: Mutex<WatchState>,
}

#[derive(Debug, Default)]
struct WatchState {
    in_flight: Option<(EventId, Recovery)>,
    cancelled: bool,
    /// Why the outcome became unknown ("the COMMIT failed (…)"), so that
    /// the group committer can tell each append of a group in its own
    /// words without taking the message apart.
    unknown_cause: Option<String>,
}

impl CommitWatch {
    fn with<T>(&self, change: impl FnOnce(&mut WatchState) -> T) -> T {
        // The guarded value is plain data: a poisoned lock holds a usable
        // one.
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Marks `event_id`'s write as possibly committing.
    pub(crate) fn set(&self, value: Option<(EventId, Recovery)>) {
        self.with(|state| state.in_flight = value);
    }

    /// For the group committer: marks the write as in flight, unless its
    /// caller gave up first (`false`: the write must not happen).
    pub(crate) fn take(&self, event_id: EventId, recovery: Recovery) -> bool {
        self.with(|state| {
            if !state.cancelled {
                state.in_flight = Some((event_id, recovery));
            }
            !state.cancelled
        })
    }

    /// Notes why the outcome is unknown.
    fn note_unknown(&self, cause: &str) {
        self.with(|state| state.unknown_cause = Some(cause.to_owned()));
    }

    /// Why the outcome became unknown, if it did.
    pub(crate) fn unknown_cause(&self) -> Option<String> {
        self.with(|state| state.unknown_cause.clone())
    }

    /// For a caller that gives up: the write in flight, or `None` after
    /// cancelling it so that it never starts.
    fn cancel_unless_in_flight(&self) -> Option<(EventId, Recovery)> {
        self.with(|state| {
            if state.in_flight.is_none() {
                state.cancelled = true;
            }
            state.in_flight
        })
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
            watch.note_unknown(&what);
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
        match result {
            Err(ErrorEffect::Timeout { after_ms, .. }) => match watch.cancel_unless_in_flight() {
                Some((event_id, recovery)) => {
                    let what = format!("the operation timeout of {after_ms} ms passed");
                    watch.note_unknown(&what);
                    Err(recovery.unknown(operation, event_id, &what))
                }
                None => Err(ErrorEffect::Timeout {
                    operation: operation.to_owned(),
                    after_ms,
                }),
            },
            other => other,
        }
    }
}
