//! `Effect<T>`: the result of every EventDag operation. Besides success
//! and failure it can ask the caller to retry later, to compensate, or to
//! wait, and it can carry one effect per item of a batch.

use std::time::Duration;

use crate::{ErrorEffect, EventId};

/// The outcome of an operation.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an Effect may be an error or a request to retry"]
pub enum Effect<T> {
    /// Done.
    Ok(T),
    /// Failed; see [`ErrorEffect::class`] for whose fault.
    Err(ErrorEffect),
    /// Not now: try again after `after` (e.g. backpressure).
    Retry {
        /// How long to wait before retrying.
        after: Duration,
        /// Which attempt this answer refers to, from 1.
        attempt: u32,
        /// The most attempts worth making; 0 means no bound is known.
        max_attempts: u32,
        /// Why.
        reason: String,
    },
    /// Undo `action` because of `cause`.
    Compensate {
        /// What to undo.
        action: String,
        /// Why.
        cause: ErrorEffect,
    },
    /// Waiting for other events; resume with `resume_token`.
    Pending {
        /// The events waited for.
        waiting_for: Vec<EventId>,
        /// Opaque token to resume with.
        resume_token: String,
    },
    /// One effect per item of a batch.
    Batch(Vec<Effect<T>>),
}

impl<T> Effect<T> {
    /// Whether this is `Ok`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Effect::Ok(_))
    }

    /// Whether this is `Err`.
    pub fn is_err(&self) -> bool {
        matches!(self, Effect::Err(_))
    }

    /// Whether this is `Retry`.
    pub fn is_retry(&self) -> bool {
        matches!(self, Effect::Retry { .. })
    }

    /// The value, if `Ok`.
    pub fn ok(self) -> Option<T> {
        match self {
            Effect::Ok(value) => Some(value),
            _ => None,
        }
    }

    /// The error, if `Err`.
    pub fn err(self) -> Option<ErrorEffect> {
        match self {
            Effect::Err(error) => Some(error),
            _ => None,
        }
    }

    /// Maps the success value (inside batches too).
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Effect<U> {
        self.and_then(|value| Effect::Ok(f(value)))
    }

    /// Chains another effectful step on success (inside batches too).
    pub fn and_then<U>(self, f: impl Fn(T) -> Effect<U>) -> Effect<U> {
        self.and_then_ref(&f)
    }

    fn and_then_ref<U>(self, f: &dyn Fn(T) -> Effect<U>) -> Effect<U> {
        match self {
            Effect::Ok(value) => f(value),
            Effect::Err(error) => Effect::Err(error),
            Effect::Retry {
                after,
                attempt,
                max_attempts,
                reason,
            } => Effect::Retry {
                after,
                attempt,
                max_attempts,
                reason,
            },
            Effect::Compensate { action, cause } => Effect::Compensate { action, cause },
            Effect::Pending {
                waiting_for,
                resume_token,
            } => Effect::Pending {
                waiting_for,
                resume_token,
            },
            Effect::Batch(items) => {
                Effect::Batch(items.into_iter().map(|item| item.and_then_ref(f)).collect())
            }
        }
    }

    /// Splits off the success value so that `?`-like early returns keep
    /// every other effect: `Ok(value)`, or the effect retyped for the
    /// caller. A `Batch` has no single value and becomes
    /// [`ErrorEffect::Incomplete`].
    ///
    /// # Errors
    /// Every variant but `Ok`, retyped.
    pub fn branch<U>(self) -> Result<T, Effect<U>> {
        match self {
            Effect::Ok(value) => Ok(value),
            Effect::Err(error) => Err(Effect::Err(error)),
            Effect::Retry {
                after,
                attempt,
                max_attempts,
                reason,
            } => Err(Effect::Retry {
                after,
                attempt,
                max_attempts,
                reason,
            }),
            Effect::Compensate { action, cause } => Err(Effect::Compensate { action, cause }),
            Effect::Pending {
                waiting_for,
                resume_token,
            } => Err(Effect::Pending {
                waiting_for,
                resume_token,
            }),
            Effect::Batch(items) => Err(Effect::Err(ErrorEffect::Incomplete {
                message: format!("a batch of {} effects is not a single result", items.len()),
            })),
        }
    }

    /// Maps the error.
    pub fn map_err(self, f: impl FnOnce(ErrorEffect) -> ErrorEffect) -> Effect<T> {
        match self {
            Effect::Err(error) => Effect::Err(f(error)),
            other => other,
        }
    }

    /// A plain `Result`: `Retry` becomes [`ErrorEffect::RetryLater`],
    /// `Compensate` its cause, `Pending` and `Batch`
    /// [`ErrorEffect::Incomplete`] (use [`Effect::into_results`] for
    /// batches).
    ///
    /// # Errors
    /// Every variant but `Ok`.
    pub fn into_result(self) -> Result<T, ErrorEffect> {
        match self {
            Effect::Ok(value) => Ok(value),
            Effect::Err(error) => Err(error),
            Effect::Retry { after, reason, .. } => Err(ErrorEffect::RetryLater {
                after_micros: u64::try_from(after.as_micros()).unwrap_or(u64::MAX),
                reason,
            }),
            Effect::Compensate { cause, .. } => Err(cause),
            Effect::Pending { waiting_for, .. } => Err(ErrorEffect::Incomplete {
                message: format!("pending on {} event(s)", waiting_for.len()),
            }),
            Effect::Batch(items) => Err(ErrorEffect::Incomplete {
                message: format!("a batch of {} effects is not a single result", items.len()),
            }),
        }
    }

    /// One `Result` per item: a batch gives one per member (flattened), any
    /// other effect a single one.
    pub fn into_results(self) -> Vec<Result<T, ErrorEffect>> {
        match self {
            Effect::Batch(items) => items.into_iter().flat_map(Effect::into_results).collect(),
            single => vec![single.into_result()],
        }
    }
}

impl<T, E: Into<ErrorEffect>> From<Result<T, E>> for Effect<T> {
    fn from(result: Result<T, E>) -> Self {
        match result {
            Ok(value) => Effect::Ok(value),
            Err(error) => Effect::Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinators_reach_into_batches() {
        let batch: Effect<u32> = Effect::Batch(vec![Effect::Ok(1), Effect::Ok(2)]);
        let doubled = batch.map(|value| value * 2);
        let results: Vec<_> = doubled.into_results();
        assert_eq!(results, vec![Ok(2), Ok(4)]);
    }

    #[test]
    fn retry_becomes_retry_later() {
        let effect: Effect<()> = Effect::Retry {
            after: Duration::from_millis(5),
            attempt: 1,
            max_attempts: 0,
            reason: "busy".into(),
        };
        assert!(effect.is_retry());
        assert_eq!(
            effect.into_result(),
            Err(ErrorEffect::RetryLater {
                after_micros: 5000,
                reason: "busy".into()
            })
        );
    }

    #[test]
    fn from_result_and_and_then() {
        let ok: Effect<u8> = Ok::<u8, ErrorEffect>(3).into();
        assert_eq!(ok.clone().and_then(|v| Effect::Ok(v + 1)).ok(), Some(4));
        let missing = ErrorEffect::NotFound {
            event_id: uuid::Uuid::nil(),
        };
        let err: Effect<u8> = Err::<u8, _>(missing.clone()).into();
        assert!(err.is_err());
        assert_eq!(err.map(|v| v + 1).err(), Some(missing));
    }
}
