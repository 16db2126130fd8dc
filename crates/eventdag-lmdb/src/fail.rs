//! `Fail`: how an operation inside a transaction stops early. Kept apart
//! from [`ErrorEffect`] so that the writer can tell a full map (which it
//! fixes by growing the map and retrying) from every other failure.

use eventdag::backend::Held;
use eventdag::{Effect, ErrorEffect};

use crate::error::storage_error;

/// Why an operation inside a transaction did not complete.
#[derive(Debug)]
pub(crate) enum Fail {
    /// LMDB failed (map full, disk full, I/O…): operational.
    Storage(heed::Error),
    /// The operation was refused (domain error) or data did not decode
    /// (corruption).
    Refused(ErrorEffect),
    /// The chain is under backpressure: nothing may be written.
    Held(Held),
}

impl From<heed::Error> for Fail {
    fn from(error: heed::Error) -> Self {
        Self::Storage(error)
    }
}

impl From<ErrorEffect> for Fail {
    fn from(error: ErrorEffect) -> Self {
        Self::Refused(error)
    }
}

impl Fail {
    /// The effect a caller sees for this failure of `operation`.
    pub(crate) fn into_effect<T>(self, operation: &str) -> Effect<T> {
        match self {
            Self::Storage(error) => Effect::Err(storage_error(operation, &error)),
            Self::Refused(error) => Effect::Err(error),
            Self::Held(held) => held.into_effect(),
        }
    }
}

/// Turns a transaction result into an effect.
pub(crate) fn effect<T>(operation: &str, result: Result<T, Fail>) -> Effect<T> {
    match result {
        Ok(value) => Effect::Ok(value),
        Err(fail) => fail.into_effect(operation),
    }
}
