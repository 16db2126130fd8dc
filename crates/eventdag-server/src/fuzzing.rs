//! An entry point for the fuzz target in `fuzz/`: runs every request
//! decoder on arbitrary input. Not part of the supported API.

use crate::query::{parse, Params};
use crate::routes::streams;
use crate::routes::{acks, events, forget, LimitParams, NoParams};
use crate::signal_body::SignalBody;
use crate::{body, NewEventBody};

/// How many decoders accepted an input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Body decoders (event, batch, signal, redaction, retention policy)
    /// that accepted the body.
    pub bodies: usize,
    /// Query decoders that accepted the query string, besides the one
    /// that takes no parameters.
    pub queries: usize,
}

/// Splits `data` at its first NUL byte into a query string and a body,
/// then decodes them as every route would, and says which accepted it.
/// Errors are expected; panics are bugs.
pub fn decode_request(data: &[u8]) -> Accepted {
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let query = String::from_utf8_lossy(query);
    let mut accepted = Accepted::default();
    if let Ok(event) = body::decode::<NewEventBody>(body) {
        accepted.bodies += usize::from(event.into_draft(eventdag::DEFAULT_TENANT).is_ok());
    }
    if let Ok(batch) = body::decode::<Vec<NewEventBody>>(body) {
        let drafts = batch
            .into_iter()
            .map(|event| event.into_draft(eventdag::DEFAULT_TENANT));
        accepted.bodies += usize::from(drafts.collect::<Result<Vec<_>, _>>().is_ok());
    }
    if let Ok(signal) = body::decode::<SignalBody>(body) {
        accepted.bodies += usize::from(signal.into_signal().is_ok());
    }
    if body::decode::<forget::RedactBody>(body).is_ok() {
        accepted.bodies += 1;
    }
    if let Ok(policy) = body::decode::<forget::RetentionPolicyBody>(body) {
        accepted.bodies += usize::from(policy.into_policy().is_ok());
    }
    params::<NoParams>(&query);
    accepted.queries = [
        params::<LimitParams>(&query),
        params::<events::KindParams>(&query),
        params::<acks::AckParams>(&query),
        params::<acks::NextParams>(&query),
        params::<streams::EventStreamParams>(&query),
        params::<streams::SignalStreamParams>(&query),
        params::<forget::RunParams>(&query),
        params::<forget::RemoveParams>(&query),
    ]
    .into_iter()
    .filter(|ok| *ok)
    .count();
    let _ = crate::routes::parse_id("id", &query);
    accepted
}

fn params<T: Params>(query: &str) -> bool {
    parse::<T>(query).is_ok()
}
