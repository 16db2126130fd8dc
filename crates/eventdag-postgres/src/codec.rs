//! Rows to events and back: checked integer conversions between the u32 /
//! u64 fields of the model and PostgreSQL's signed integers, and payload
//! decoding.

use eventdag::backend::StoredRecord;
use eventdag::{
    DagPosition, ErrorEffect, Event, EventFlags, EventHash, EventHeader, EventId, EventKind,
    HashVersion, Redaction,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

/// The columns every event query selects, in [`EventRow`] order, for a
/// table aliased `e`.
pub(crate) const EVENT_COLUMNS: &str = "e.tenant_id, e.event_id, e.correlation_id, e.ts, e.depth, \
     e.lane, e.sequence, e.payload_size, e.kind, e.flags, e.parents, e.payload::text AS payload, \
     e.payload_encoding, e.hash, e.log_cursor, e.hash_version, e.redaction::text AS redaction";

/// One row of `eventdag_events` as selected by [`EVENT_COLUMNS`].
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub(crate) tenant_id: Uuid,
    pub(crate) event_id: Uuid,
    pub(crate) correlation_id: Uuid,
    pub(crate) ts: i64,
    pub(crate) depth: i64,
    pub(crate) lane: i64,
    pub(crate) sequence: i64,
    pub(crate) payload_size: i64,
    pub(crate) kind: i32,
    pub(crate) flags: i16,
    pub(crate) parents: Vec<Uuid>,
    pub(crate) payload: String,
    /// [`PAYLOAD_AS_HASHED`] or [`PAYLOAD_RENDERED_BY_JSONB`].
    pub(crate) payload_encoding: i16,
    pub(crate) hash: Vec<u8>,
    pub(crate) log_cursor: i64,
    /// 1 or 2 ([`HashVersion`]).
    pub(crate) hash_version: i16,
    /// The redaction mark as JSON text; `None` unless redacted.
    pub(crate) redaction: Option<String>,
}

/// `payload_encoding` of a row whose `json` text is the bytes its hash
/// covers (every row written since migration 0002).
pub(crate) const PAYLOAD_AS_HASHED: i16 = 1;

/// `payload_encoding` of a row written before migration 0002: its text is
/// jsonb's rendering, and its hash covers serde_json's encoding of that
/// rendering decoded as a `serde_json::Value`.
pub(crate) const PAYLOAD_RENDERED_BY_JSONB: i16 = 0;

/// A stored integer outside the range of its model field.
fn out_of_range(event_id: EventId, field: &str, value: impl std::fmt::Display) -> ErrorEffect {
    ErrorEffect::corrupt(
        Some(event_id),
        format!("stored {field} {value} is out of range"),
    )
}

fn u32_of(event_id: EventId, field: &str, value: i64) -> Result<u32, ErrorEffect> {
    u32::try_from(value).map_err(|_| out_of_range(event_id, field, value))
}

/// A u32 as the bigint it is stored as.
pub(crate) fn db_u32(value: u32) -> i64 {
    i64::from(value)
}

/// A u64 as a bigint; values above `i64::MAX` are refused as input.
pub(crate) fn db_u64(field: &str, value: u64) -> Result<i64, ErrorEffect> {
    i64::try_from(value).map_err(|_| {
        ErrorEffect::invalid(
            field,
            format!("{value} is too large; accepted: at most {}", i64::MAX),
        )
    })
}

/// A stored bigint that must be non-negative, as u64.
pub(crate) fn model_u64(
    event_id: Option<EventId>,
    field: &str,
    value: i64,
) -> Result<u64, ErrorEffect> {
    u64::try_from(value)
        .map_err(|_| ErrorEffect::corrupt(event_id, format!("stored {field} {value} is negative")))
}

/// Decodes a payload from its stored JSON text.
pub(crate) fn decode_payload<P: DeserializeOwned>(
    event_id: EventId,
    text: &str,
) -> Result<P, ErrorEffect> {
    serde_json::from_str(text).map_err(|err| {
        ErrorEffect::corrupt(
            Some(event_id),
            format!("stored payload does not decode as the payload type: {err}"),
        )
    })
}

/// The bytes an event's payload was hashed over: `P` encoded with
/// `serde_json`, which for the stored text of a row is that text again
/// (see docs/storage-postgres.md, "Payload encoding").
pub(crate) fn payload_bytes<P: Serialize>(
    event_id: EventId,
    payload: &P,
) -> Result<Vec<u8>, ErrorEffect> {
    serde_json::to_vec(payload).map_err(|err| {
        ErrorEffect::corrupt(
            Some(event_id),
            format!("stored payload does not encode: {err}"),
        )
    })
}

impl EventRow {
    /// The header, tenant, parents and hash (no payload).
    fn parts(&self) -> Result<(EventHeader, EventHash), ErrorEffect> {
        let id = self.event_id;
        let kind = u16::try_from(self.kind).map_err(|_| out_of_range(id, "kind", self.kind))?;
        let flags = u8::try_from(self.flags).map_err(|_| out_of_range(id, "flags", self.flags))?;
        let hash: [u8; 32] = self
            .hash
            .as_slice()
            .try_into()
            .map_err(|_| out_of_range(id, "hash length", self.hash.len()))?;
        let header = EventHeader::new(
            id,
            self.correlation_id,
            model_u64(Some(id), "timestamp", self.ts)?,
            DagPosition::new(
                u32_of(id, "depth", self.depth)?,
                u32_of(id, "lane", self.lane)?,
                u32_of(id, "sequence", self.sequence)?,
            ),
            u32_of(id, "payload_size", self.payload_size)?,
            EventKind(kind),
            EventFlags::from_bits_retain(flags),
        );
        Ok((header, EventHash(hash)))
    }

    /// The payload text the event was appended with: the stored text, or
    /// for a row written before migration 0002 serde_json's encoding of
    /// jsonb's rendering, as it was hashed and served then.
    pub(crate) fn appended_text(&self) -> Result<std::borrow::Cow<'_, str>, ErrorEffect> {
        let id = self.event_id;
        match self.payload_encoding {
            PAYLOAD_AS_HASHED => Ok(std::borrow::Cow::Borrowed(&self.payload)),
            PAYLOAD_RENDERED_BY_JSONB => {
                let value: serde_json::Value = decode_payload(id, &self.payload)?;
                Ok(std::borrow::Cow::Owned(value.to_string()))
            }
            other => Err(out_of_range(id, "payload_encoding", other)),
        }
    }

    /// The stored hash version and redaction mark.
    fn seal(&self) -> Result<(HashVersion, Option<Redaction>), ErrorEffect> {
        let id = self.event_id;
        let version = u8::try_from(self.hash_version)
            .ok()
            .and_then(HashVersion::from_number)
            .ok_or_else(|| out_of_range(id, "hash_version", self.hash_version))?;
        let redaction = match &self.redaction {
            None => None,
            Some(text) => Some(serde_json::from_str(text).map_err(|err| {
                ErrorEffect::corrupt(Some(id), format!("stored redaction mark: {err}"))
            })?),
        };
        Ok((version, redaction))
    }

    /// The event with its payload decoded as `P` (for a redacted event,
    /// `P`'s value for `null`).
    pub(crate) fn into_event<P: DeserializeOwned>(self) -> Result<Event<P>, ErrorEffect> {
        let (header, hash) = self.parts()?;
        let (hash_version, redaction) = self.seal()?;
        let payload = match redaction {
            Some(_) => Redaction::empty_payload(self.event_id)?,
            None => decode_payload(self.event_id, &self.appended_text()?)?,
        };
        Ok(Event {
            header,
            tenant_id: self.tenant_id,
            parents: self.parents,
            payload,
            hash,
            hash_version,
            redaction,
        })
    }

    /// The event and the payload bytes it was hashed over (none when
    /// redacted).
    pub(crate) fn into_event_and_bytes<P: DeserializeOwned + Serialize>(
        self,
    ) -> Result<(Event<P>, Vec<u8>), ErrorEffect> {
        let event = self.into_event::<P>()?;
        let bytes = match event.redaction {
            Some(_) => Vec::new(),
            None => payload_bytes(event.header.event_id, &event.payload)?,
        };
        Ok((event, bytes))
    }

    /// The record verification reads.
    pub(crate) fn into_record<P: DeserializeOwned + Serialize>(
        self,
    ) -> Result<StoredRecord, ErrorEffect> {
        let (event, payload_bytes) = self.into_event_and_bytes::<P>()?;
        Ok(StoredRecord {
            header: event.header,
            tenant_id: event.tenant_id,
            parents: event.parents,
            payload_bytes,
            hash: event.hash,
            hash_version: event.hash_version,
            redaction: event.redaction,
        })
    }

    /// The commit-ordered cursor of the row.
    pub(crate) fn cursor(&self) -> Result<u64, ErrorEffect> {
        model_u64(Some(self.event_id), "log_cursor", self.log_cursor)
    }
}

/// Rows to events, failing on the first that does not decode.
pub(crate) fn events_of<P: DeserializeOwned>(
    rows: Vec<EventRow>,
) -> Result<Vec<Event<P>>, ErrorEffect> {
    rows.into_iter().map(EventRow::into_event).collect()
}

/// A caller's limit as a SQL `LIMIT`.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
