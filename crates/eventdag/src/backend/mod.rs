//! What backends need and users do not: the append and signal flows they
//! run inside their write transactions, the primitives they implement for
//! them ([`AppendTxn`], [`SignalTxn`]), the walk every Rust backend uses,
//! and helpers for their answers.
//!
//! A backend implements storage and transactions; the core owns the
//! rules. Each write of a backend is: open its transaction, run
//! [`append_all`] (or [`signal`], [`acknowledge`]) over its primitives,
//! commit, answer with what the flow says was stored.

mod append_flow;
pub mod queue;
mod rules;
mod signal_flow;
pub mod walk;

pub use append_flow::{append_all, Admission, AppendTxn, Appended, Lookups, PreparedBatch};
pub use rules::{AppendLimits, Held, ParentView, Prepared, DEFAULT_MAX_PAYLOAD_BYTES};
pub use signal_flow::{acknowledge, signal, Acknowledged, SignalTarget, SignalTxn};

pub use crate::error::sequence_conflict;
pub use crate::ext::RecordCheck;
pub use crate::forget::{check_removal, RemovalFacts};
pub use crate::hash::{compute_hash, compute_hash_as, PayloadEvidence};
pub use crate::id::is_v7;
pub use crate::limits::capped;
pub use crate::queue::micros;
pub use crate::store::StoredRecord;

use crate::{Effect, ErrorEffect, Event, EventId};

/// The events of an admitted batch as the caller sees them.
#[must_use]
pub fn stored_events<P>(appended: Vec<Appended<P>>) -> Vec<Event<P>> {
    appended.into_iter().map(|a| a.event).collect()
}

/// The one event of a one-event append's answer.
pub fn single<T>(result: Effect<Vec<T>>) -> Effect<T> {
    match result.branch() {
        Ok(items) => items.into_iter().next().map_or_else(
            || {
                Effect::Err(ErrorEffect::Incomplete {
                    message: "append stored no event".into(),
                })
            },
            Effect::Ok,
        ),
        Err(effect) => effect,
    }
}

/// The id of a one-event append's answer (SPEC §1 `append`).
pub fn single_id<P>(result: Effect<Vec<Event<P>>>) -> Effect<EventId> {
    single(result).map(|event| event.id())
}
