//! The value stored for each event in the `events` database:
//!
//! ```text
//! 0..64     header (EventHeader::to_bytes, big-endian, fixed offsets)
//! 64..80    tenant id
//! 80..112   BLAKE3 hash stored at append time
//! 112..116  parent count n (u32 BE)
//! 116..+16n parent ids
//! rest      payload as JSON bytes (exactly the bytes the hash covers)
//! ```
//!
//! Everything a walk or a filter needs sits at fixed offsets before the
//! payload, so [`RecordView`] answers them from the memory-mapped bytes
//! without copying or decoding the payload.

use eventdag::backend::StoredRecord;
use eventdag::{Event, EventHash, EventHeader, EventId, TenantId, HEADER_BYTES};
use serde::de::DeserializeOwned;

use crate::keys::{be_u32, uuid_at};

const TENANT_AT: usize = HEADER_BYTES;
const HASH_AT: usize = TENANT_AT + 16;
const COUNT_AT: usize = HASH_AT + 32;
const PARENTS_AT: usize = COUNT_AT + 4;
/// Offset of the flags byte inside the value (the header's byte 58).
pub const FLAGS_AT: usize = 58;

/// Encodes an event's value.
#[must_use]
pub fn encode(
    header: &EventHeader,
    tenant_id: &TenantId,
    hash: &EventHash,
    parents: &[EventId],
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(PARENTS_AT + 16 * parents.len() + payload.len());
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(tenant_id.as_bytes());
    out.extend_from_slice(&hash.0);
    let count = u32::try_from(parents.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for parent in parents {
        out.extend_from_slice(parent.as_bytes());
    }
    out.extend_from_slice(payload);
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

    /// The payload's JSON bytes.
    #[must_use]
    pub fn payload_bytes(&self) -> &'a [u8] {
        &self.bytes[PARENTS_AT + 16 * self.parent_count..]
    }

    /// The whole event, payload decoded.
    ///
    /// # Errors
    /// The payload bytes do not decode as `P`.
    pub fn event<P: DeserializeOwned>(&self) -> Result<Event<P>, serde_json::Error> {
        let payload = serde_json::from_slice(self.payload_bytes())?;
        Ok(Event {
            header: self.header(),
            tenant_id: self.tenant_id(),
            parents: self.parents().collect(),
            payload,
            hash: self.hash(),
        })
    }

    /// The record with its payload bytes copied.
    #[must_use]
    pub fn record(&self) -> StoredRecord {
        StoredRecord {
            header: self.header(),
            tenant_id: self.tenant_id(),
            parents: self.parents().collect(),
            payload_bytes: self.payload_bytes().to_vec(),
            hash: self.hash(),
        }
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
        let bytes = encode(&header, &tenant, &EventHash([7; 32]), &parents, b"[1]");
        let view = RecordView::parse(&bytes).unwrap();
        assert_eq!(view.header(), header);
        assert_eq!(view.tenant_id(), tenant);
        assert_eq!(view.hash(), EventHash([7; 32]));
        assert_eq!(view.parents().collect::<Vec<_>>(), parents);
        assert_eq!(view.payload_bytes(), b"[1]");
        assert_eq!(bytes[FLAGS_AT], EventFlags::REQUIRES_ACK.bits());
        assert!(RecordView::parse(&bytes[..100]).is_none());
    }
}
