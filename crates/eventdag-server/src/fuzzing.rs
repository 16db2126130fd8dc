//! An entry point for the fuzz target in `fuzz/`: runs every request
//! decoder on arbitrary input. Not part of the supported API.

use crate::query::{parse, Params};
use crate::routes::{acks, events, LimitParams, NoParams};
use crate::signal_body::SignalBody;
use crate::{body, streams, NewEventBody};

/// Splits `data` at its first NUL byte into a query string and a body,
/// then decodes them as every route would. Errors are expected; panics
/// are bugs.
pub fn decode_request(data: &[u8]) {
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let query = String::from_utf8_lossy(query);
    if let Ok(event) = body::decode::<NewEventBody>(body) {
        let _ = event.into_draft(eventdag::DEFAULT_TENANT);
    }
    if let Ok(batch) = body::decode::<Vec<NewEventBody>>(body) {
        for event in batch {
            let _ = event.into_draft(eventdag::DEFAULT_TENANT);
        }
    }
    if let Ok(signal) = body::decode::<SignalBody>(body) {
        let _ = signal.into_signal();
    }
    params::<NoParams>(&query);
    params::<LimitParams>(&query);
    params::<events::KindParams>(&query);
    params::<acks::AckParams>(&query);
    params::<acks::NextParams>(&query);
    params::<streams::EventStreamParams>(&query);
    params::<streams::SignalStreamParams>(&query);
    let _ = crate::routes::parse_id("id", &query);
}

fn params<T: Params>(query: &str) {
    let _ = parse::<T>(query);
}
