//! The fixed-size event header and its 64-byte wire encoding.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DagPosition, EventFlags, EventId, EventKind};

/// The header of an event: everything but tenant, parents and payload.
///
/// Exactly 64 bytes and 64-byte aligned (one cache line), checked at
/// compile time below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(C, align(64))]
pub struct EventHeader {
    /// The event's id (UUID v7). Nil on append means "assign one".
    pub event_id: EventId,
    /// The correlation chain. Nil on append means "inherit from the first
    /// parent, or the event's own id for a root".
    pub correlation_id: EventId,
    /// Microseconds since the Unix epoch. 0 on append means "now".
    pub timestamp: u64,
    /// Depth, lane and sequence.
    pub position: DagPosition,
    /// Size in bytes of the encoded payload; set by the store.
    pub payload_size: u32,
    /// The kind.
    pub event_kind: EventKind,
    /// The flags.
    pub flags: EventFlags,
}

const _: () = assert!(std::mem::size_of::<EventHeader>() == 64);
const _: () = assert!(std::mem::align_of::<EventHeader>() == 64);

/// Length of [`EventHeader::to_bytes`].
pub const HEADER_BYTES: usize = 64;

impl EventHeader {
    /// A header from all its fields.
    #[must_use]
    pub const fn new(
        event_id: EventId,
        correlation_id: EventId,
        timestamp: u64,
        position: DagPosition,
        payload_size: u32,
        event_kind: EventKind,
        flags: EventFlags,
    ) -> Self {
        Self {
            event_id,
            correlation_id,
            timestamp,
            position,
            payload_size,
            event_kind,
            flags,
        }
    }

    /// The canonical 64-byte encoding: fixed offsets, big-endian integers
    /// (so encoded headers sort like their numbers), five zero bytes at the
    /// end. Used for storage and as the header part of the hash.
    ///
    /// ```text
    /// 0..16 event_id | 16..32 correlation_id | 32..40 timestamp
    /// 40..44 depth | 44..48 lane | 48..52 sequence | 52..56 payload_size
    /// 56..58 kind | 58 flags | 59..64 zero
    /// ```
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[0..16].copy_from_slice(self.event_id.as_bytes());
        out[16..32].copy_from_slice(self.correlation_id.as_bytes());
        out[32..40].copy_from_slice(&self.timestamp.to_be_bytes());
        out[40..44].copy_from_slice(&self.position.depth.to_be_bytes());
        out[44..48].copy_from_slice(&self.position.lane.to_be_bytes());
        out[48..52].copy_from_slice(&self.position.sequence.to_be_bytes());
        out[52..56].copy_from_slice(&self.payload_size.to_be_bytes());
        out[56..58].copy_from_slice(&self.event_kind.0.to_be_bytes());
        out[58] = self.flags.bits();
        out
    }

    /// Decodes [`EventHeader::to_bytes`]. Returns `None` when `bytes` is
    /// not exactly 64 bytes long.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; HEADER_BYTES] = bytes.try_into().ok()?;
        let u32_at = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let mut timestamp = [0u8; 8];
        timestamp.copy_from_slice(&bytes[32..40]);
        let mut event_id = [0u8; 16];
        event_id.copy_from_slice(&bytes[0..16]);
        let mut correlation_id = [0u8; 16];
        correlation_id.copy_from_slice(&bytes[16..32]);
        Some(Self {
            event_id: Uuid::from_bytes(event_id),
            correlation_id: Uuid::from_bytes(correlation_id),
            timestamp: u64::from_be_bytes(timestamp),
            position: DagPosition::new(u32_at(40), u32_at(44), u32_at(48)),
            payload_size: u32_at(52),
            event_kind: EventKind(u16::from_be_bytes([bytes[56], bytes[57]])),
            flags: EventFlags::from_bits_retain(bytes[58]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let header = EventHeader::new(
            Uuid::now_v7(),
            Uuid::now_v7(),
            1_700_000_000_000_000,
            DagPosition::new(3, 2, 99),
            256,
            EventKind(0x8123),
            EventFlags::REQUIRES_ACK | EventFlags::CRITICAL,
        );
        let bytes = header.to_bytes();
        assert_eq!(EventHeader::from_bytes(&bytes), Some(header));
        assert_eq!(EventHeader::from_bytes(&bytes[..63]), None);
    }
}
