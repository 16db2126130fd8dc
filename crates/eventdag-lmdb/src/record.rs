//! The value stored for each event in the `events` database:
//!
//! ```text
//! 0..64     header (EventHeader::to_bytes, big-endian, fixed offsets)
//! 64..80    tenant id
//! 80..112   BLAKE3 hash stored at append time
//! 112..116  parent count n (u32 BE)
//! 116..+16n parent ids
//! rest      payload as JSON bytes (exactly the bytes the hash covers), or
//!           for a redacted event the redaction mark as JSON
//! ```
//!
//! Two of the header's five zero bytes carry the seal (store format 2;
//! a format-1 record has zeros there and reads as version 1, unredacted):
//! byte 59 is the hash version (0 or 1: version 1; 2: version 2), byte
//! 60 is 1 when the payload was redacted.
//!
//! Everything a walk or a filter needs sits at fixed offsets before the
//! payload, so [`RecordView`] answers them from the memory-mapped bytes
//! without copying or decoding the payload.

use eventdag::backend::StoredRecord;
use eventdag::{
    Event, EventHash, EventHeader, EventId, HashVersion, Redaction, TenantId, HEADER_BYTES,
};
use serde::de::DeserializeOwned;

use crate::keys::{be_u32, uuid_at};

const TENANT_AT: usize = HEADER_BYTES;
const HASH_AT: usize = TENANT_AT + 16;
const COUNT_AT: usize = HASH_AT + 32;
const PARENTS_AT: usize = COUNT_AT + 4;
/// Offset of the flags byte inside the value (the header's byte 58).
pub const FLAGS_AT: usize = 58;
/// Offset of the hash-version byte (a zero byte of the header encoding).
const VERSION_AT: usize = 59;
/// Offset of the redacted byte.
const REDACTED_AT: usize = 60;

/// What follows the parents in a value.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// The payload's JSON bytes.
    Payload(&'a [u8]),
    /// The mark of a redacted event; no payload byte is kept.
    Redacted(&'a Redaction),
}

/// Encodes a sealed event's value: its payload bytes, or its mark when
/// the event is redacted (`payload_bytes` is then not stored).
#[must_use]
pub fn encode_event<P>(event: &Event<P>, payload_bytes: &[u8]) -> Vec<u8> {
    let body = match &event.redaction {
        Some(redaction) => Body::Redacted(redaction),
        None => Body::Payload(payload_bytes),
    };
    encode_parts(
        &event.header,
        &event.tenant_id,
        &event.hash,
        event.hash_version,
        &event.parents,
        body,
    )
}

/// Encodes an event's value from its parts.
#[must_use]
pub fn encode_parts(
    header: &EventHeader,
    tenant_id: &TenantId,
    hash: &EventHash,
    hash_version: HashVersion,
    parents: &[EventId],
    body: Body<'_>,
) -> Vec<u8> {
    let mark;
    let (tail, redacted): (&[u8], bool) = match body {
        Body::Payload(bytes) => (bytes, false),
        Body::Redacted(redaction) => {
            // A struct of a string, a number and a hex string always
            // encodes.
            mark = serde_json::to_vec(redaction).unwrap_or_default();
            (&mark, true)
        }
    };
    let mut out = Vec::with_capacity(PARENTS_AT + 16 * parents.len() + tail.len());
    out.extend_from_slice(&header.to_bytes());
    out[VERSION_AT] = hash_version.number();
    out[REDACTED_AT] = u8::from(redacted);
    out.extend_from_slice(tenant_id.as_bytes());
    out.extend_from_slice(&hash.0);
    let count = u32::try_from(parents.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for parent in parents {
        out.extend_from_slice(parent.as_bytes());
    }
    out.extend_from_slice(tail);
    out
}

/// A validated view over a stored value, borrowing the mapped bytes.
#[derive(Clone, Copy)]
pub struct RecordView<'a> {
    bytes: &'a [u8],
    header: EventHeader,
    parent_count: usize,
}

impl<'a> RecordView<'a> {
    /// Checks the fixed part's length; `None` when the value is too short
    /// to hold what it claims.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let count = usize::try_from(be_u32(bytes, COUNT_AT)?).ok()?;
        let payload_at = PARENTS_AT.checked_add(count.checked_mul(16)?)?;
        if bytes.len() < payload_at {
            return None;
        }
        let header = EventHeader::from_bytes(bytes.get(..HEADER_BYTES)?)?;
        Some(Self {
            bytes,
            header,
            parent_count: count,
        })
    }

    /// The whole stored value.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The header as stored (flags included).
    #[must_use]
    pub fn header(&self) -> EventHeader {
        self.header
    }

    /// The tenant.
    #[must_use]
    pub fn tenant_id(&self) -> TenantId {
        uuid_at(self.bytes, TENANT_AT).unwrap_or_default()
    }

    /// The hash stored at append time.
    #[must_use]
    pub fn hash(&self) -> EventHash {
        // `parse` checked that the fixed part (header, tenant, hash, count)
        // is present.
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&self.bytes[HASH_AT..HASH_AT + 32]);
        EventHash(hash)
    }

    /// The parent ids, in order.
    pub fn parents(&self) -> impl Iterator<Item = EventId> + 'a {
        let bytes = self.bytes;
        (0..self.parent_count).filter_map(move |index| uuid_at(bytes, PARENTS_AT + 16 * index))
    }

    /// The hash version; `None` for a byte this release does not know.
    #[must_use]
    pub fn hash_version(&self) -> Option<HashVersion> {
        match self.bytes[VERSION_AT] {
            0 => Some(HashVersion::V1),
            number => HashVersion::from_number(number),
        }
    }

    /// Whether the payload was redacted.
    #[must_use]
    pub fn is_redacted(&self) -> bool {
        self.bytes[REDACTED_AT] == 1
    }

    /// What follows the parents: the payload's JSON bytes, or the
    /// redaction mark's.
    #[must_use]
    pub fn tail(&self) -> &'a [u8] {
        &self.bytes[PARENTS_AT + 16 * self.parent_count..]
    }

    /// The payload's JSON bytes; empty when redacted.
    #[must_use]
    pub fn payload_bytes(&self) -> &'a [u8] {
        if self.is_redacted() {
            &[]
        } else {
            self.tail()
        }
    }

    /// The seal: hash version and redaction mark.
    ///
    /// # Errors
    /// An unknown version byte or a mark that does not decode.
    pub fn seal(&self) -> Result<(HashVersion, Option<Redaction>), String> {
        let version = self
            .hash_version()
            .ok_or_else(|| format!("unknown hash version byte {}", self.bytes[VERSION_AT]))?;
        let redaction = if self.is_redacted() {
            Some(
                serde_json::from_slice(self.tail())
                    .map_err(|err| format!("redaction mark does not decode: {err}"))?,
            )
        } else {
            None
        };
        Ok((version, redaction))
    }

    /// The whole event, payload decoded (a redacted event's payload is
    /// `P`'s value for `null`).
    ///
    /// # Errors
    /// The payload bytes do not decode as `P`, or the seal is damaged.
    pub fn event<P: DeserializeOwned>(&self) -> Result<Event<P>, eventdag::ErrorEffect> {
        let id = self.header().event_id;
        let (hash_version, redaction) = self
            .seal()
            .map_err(|message| crate::error::undecodable(id, message))?;
        let payload = match redaction {
            Some(_) => eventdag::Redaction::empty_payload(id)?,
            None => serde_json::from_slice(self.payload_bytes()).map_err(|err| {
                crate::error::undecodable(
                    id,
                    format!("payload is not valid JSON for the payload type: {err}"),
                )
            })?,
        };
        Ok(Event {
            header: self.header(),
            tenant_id: self.tenant_id(),
            parents: self.parents().collect(),
            payload,
            hash: self.hash(),
            hash_version,
            redaction,
        })
    }

    /// The record with its payload bytes copied.
    ///
    /// # Errors
    /// The seal is damaged.
    pub fn record(&self) -> Result<StoredRecord, String> {
        let (hash_version, redaction) = self.seal()?;
        Ok(StoredRecord {
            header: self.header(),
            tenant_id: self.tenant_id(),
            parents: self.parents().collect(),
            payload_bytes: self.payload_bytes().to_vec(),
            hash: self.hash(),
            hash_version,
            redaction,
        })
    }
}

#[cfg(test)]
mod tests {
    use eventdag::{DagPosition, EventFlags, EventKind};

    use super::*;

    #[test]
    fn value_round_trips_without_decoding_payload() {
        let header = EventHeader::new(
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            42,
            DagPosition::new(2, 1, 7),
            4,
            EventKind::NOTE,
            EventFlags::REQUIRES_ACK,
        );
        let tenant = uuid::Uuid::from_u128(9);
        let parents = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
        let bytes = encode_parts(
            &header,
            &tenant,
            &EventHash([7; 32]),
            HashVersion::V2,
            &parents,
            Body::Payload(b"[1]"),
        );
        let view = RecordView::parse(&bytes).unwrap();
        assert_eq!(view.header(), header);
        assert_eq!(view.tenant_id(), tenant);
        assert_eq!(view.hash(), EventHash([7; 32]));
        assert_eq!(view.parents().collect::<Vec<_>>(), parents);
        assert_eq!(view.payload_bytes(), b"[1]");
        assert_eq!(bytes[FLAGS_AT], EventFlags::REQUIRES_ACK.bits());
        assert!(RecordView::parse(&bytes[..100]).is_none());
        assert_eq!(view.seal(), Ok((HashVersion::V2, None)));
    }

    #[test]
    fn redacted_value_keeps_the_mark_and_no_payload() {
        let header = EventHeader::new(
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            42,
            DagPosition::new(0, 0, 0),
            4,
            EventKind::NOTE,
            EventFlags::empty(),
        );
        let mark = Redaction {
            reason: "erase".into(),
            redacted_at: 7,
            payload_hash: EventHash([3; 32]),
        };
        let bytes = encode_parts(
            &header,
            &uuid::Uuid::nil(),
            &EventHash([7; 32]),
            HashVersion::V2,
            &[],
            Body::Redacted(&mark),
        );
        let view = RecordView::parse(&bytes).unwrap();
        assert_eq!(
            view.header(),
            header,
            "the seal bytes are not header fields"
        );
        assert!(view.payload_bytes().is_empty());
        assert_eq!(view.seal(), Ok((HashVersion::V2, Some(mark))));
        let mut old_format = bytes.clone();
        old_format[59] = 0;
        old_format[60] = 0;
        let old = RecordView::parse(&old_format).unwrap();
        assert_eq!(old.hash_version(), Some(HashVersion::V1));
    }
}
