//! The seal check of `eventdag import`: before anything is stored, every
//! line's `hash` must be the hash the store computes for that line, and
//! the hashes it covers — its parents', taken from the file or, for a
//! parent outside it, from the store — must be the ones they chain to.
//! A file edited anywhere, or re-sealed in part, is refused whole.
//!
//! Each line is checked under its own `hash_version` (a line written
//! before versions existed has none: version 1), so files exported by
//! earlier releases import. The store seals what it stores under the
//! current version, so the imported hashes differ from the file's; the
//! file's chain was checked before anything was stored.

use std::collections::HashMap;

use eventdag::backend::{compute_hash_as, AppendLimits, PayloadEvidence, PreparedBatch};
use eventdag::RawJson;
use eventdag::{ErrorEffect, Event, EventHash, EventId, NewEvent};

use super::CliStore;

/// A line the check refuses.
#[derive(Debug)]
pub(super) struct Refusal {
    /// The line number in the file.
    pub(super) line: usize,
    /// The event on it.
    pub(super) event_id: EventId,
    /// Why.
    pub(super) reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: event {} {}",
            self.line, self.event_id, self.reason
        )
    }
}

/// Checks every line; returns the lines refused, in file order.
///
/// A line whose parent is neither in the file nor stored is not judged
/// here: the store refuses it when its batch is appended (parent not
/// found), naming the line.
///
/// # Errors
/// A store error while reading a parent outside the file.
pub(super) async fn check<S: CliStore>(
    store: &S,
    events: &[(usize, Event<RawJson>)],
) -> anyhow::Result<Vec<Refusal>> {
    let in_file: HashMap<EventId, EventHash> = events
        .iter()
        .map(|(_, event)| (event.id(), event.hash))
        .collect();
    let mut stored: HashMap<EventId, Option<EventHash>> = HashMap::new();
    let mut refused = Vec::new();
    'lines: for (line, event) in events {
        let refuse = |reason: String| Refusal {
            line: *line,
            event_id: event.id(),
            reason,
        };
        if event.hash == EventHash::UNSET {
            refused.push(refuse(
                "carries no hash, so nothing says it is what was exported".into(),
            ));
            continue;
        }
        let mut parents = Vec::with_capacity(event.parents.len());
        for parent in &event.parents {
            let hash = match in_file.get(parent) {
                Some(hash) => Some(*hash),
                None => stored_hash(store, &mut stored, *parent).await?,
            };
            match hash {
                Some(hash) => parents.push((*parent, hash)),
                None => continue 'lines,
            }
        }
        let payload = match &event.redaction {
            // A redacted line keeps its header as sealed (payload_size
            // is the removed payload's) and the removed payload's hash.
            Some(_) => Vec::new(),
            None => match stored_payload_bytes(event) {
                Ok(payload) => payload,
                Err(error) => {
                    refused.push(refuse(format!("cannot be sealed: {error}")));
                    continue;
                }
            },
        };
        // The header as the store seals it: its size is the encoded
        // payload's (store-managed flags are left out by the hash itself).
        let mut header = event.header;
        let evidence = match &event.redaction {
            Some(redaction) => PayloadEvidence::Hash(redaction.payload_hash),
            None => {
                header.payload_size = u32::try_from(payload.len()).unwrap_or(u32::MAX);
                PayloadEvidence::Bytes(&payload)
            }
        };
        let Some(computed) = compute_hash_as(
            event.hash_version,
            &header,
            &event.tenant_id,
            &parents,
            evidence,
        ) else {
            refused.push(refuse(
                "is redacted and was hashed under version 1, which covered the removed bytes: nothing is left to check it against; import with --rehash to store it as it is".into(),
            ));
            continue;
        };
        if computed != event.hash {
            refused.push(refuse(format!(
                "does not match its hash: the file says {}, its content and its parents' hashes give {computed} (it, or an event above it, was changed after it was sealed)",
                event.hash
            )));
        }
    }
    Ok(refused)
}

/// The stored hash of `id`, or `None` when the store does not hold it;
/// read once per id.
async fn stored_hash<S: CliStore>(
    store: &S,
    known: &mut HashMap<EventId, Option<EventHash>>,
    id: EventId,
) -> anyhow::Result<Option<EventHash>> {
    if let Some(hash) = known.get(&id) {
        return Ok(*hash);
    }
    let hash = match store.stored_record(id).await.into_result() {
        Ok(record) => Some(record.hash),
        Err(ErrorEffect::NotFound { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    known.insert(id, hash);
    Ok(hash)
}

/// The payload bytes exactly as every store encodes and hashes them: the
/// core prepares each append once, for every backend, so asking it keeps
/// this check in step with the stores whatever the encoding is.
fn stored_payload_bytes(event: &Event<RawJson>) -> Result<Vec<u8>, ErrorEffect> {
    let limits = AppendLimits {
        max_payload_bytes: usize::MAX,
    };
    let draft = NewEvent::from(event.clone());
    let batch = PreparedBatch::new(vec![draft], limits, 0)?;
    let bytes = batch
        .valid()
        .next()
        .map(|prepared| prepared.payload_bytes.clone());
    match bytes {
        Some(bytes) => Ok(bytes),
        None => Err(ErrorEffect::invalid(
            "id",
            format!(
                "event {} has an id no store accepts (a version 7 UUID is)",
                event.id()
            ),
        )),
    }
}
