//! Key encodings. Every integer is big-endian and every field has a fixed
//! width, so LMDB's byte-wise key order is the contract order and prefix
//! or range scans return events already sorted. See docs/storage-lmdb.md
//! for the byte-by-byte layout of each database.

use eventdag::{DagPosition, EventId, EventKind, TenantId};

/// Fixed-capacity key builder.
pub(crate) struct KeyBuf(Vec<u8>);

impl KeyBuf {
    pub(crate) fn new() -> Self {
        Self(Vec::with_capacity(64))
    }

    pub(crate) fn id(mut self, id: &uuid::Uuid) -> Self {
        self.0.extend_from_slice(id.as_bytes());
        self
    }

    pub(crate) fn u16(mut self, value: u16) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u32(mut self, value: u32) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u64(mut self, value: u64) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn byte(mut self, value: u8) -> Self {
        self.0.push(value);
        self
    }

    pub(crate) fn position(self, position: DagPosition) -> Self {
        self.u32(position.depth)
            .u32(position.lane)
            .u32(position.sequence)
    }

    pub(crate) fn done(self) -> Vec<u8> {
        self.0
    }
}

/// `children`: parent(16) child(16).
pub(crate) fn child(parent: &EventId, child: &EventId) -> Vec<u8> {
    KeyBuf::new().id(parent).id(child).done()
}

/// `correlation`: tenant(16) correlation(16) depth lane sequence (4 each) id(16).
pub(crate) fn correlation(
    tenant: &TenantId,
    correlation: &EventId,
    position: DagPosition,
    id: &EventId,
) -> Vec<u8> {
    correlation_prefix(tenant, correlation)
        .position(position)
        .id(id)
        .done()
}

/// The prefix of one chain in `correlation`.
pub(crate) fn correlation_prefix(tenant: &TenantId, correlation: &EventId) -> KeyBuf {
    KeyBuf::new().id(tenant).id(correlation)
}

/// `by_kind`: kind(2) depth lane sequence (4 each) tenant(16) id(16).
pub(crate) fn by_kind(
    kind: EventKind,
    position: DagPosition,
    tenant: &TenantId,
    id: &EventId,
) -> Vec<u8> {
    KeyBuf::new()
        .u16(kind.0)
        .position(position)
        .id(tenant)
        .id(id)
        .done()
}

/// `tenant_kind`: tenant(16) kind(2) depth lane sequence (4 each) id(16).
pub(crate) fn tenant_kind(
    tenant: &TenantId,
    kind: EventKind,
    position: DagPosition,
    id: &EventId,
) -> Vec<u8> {
    KeyBuf::new()
        .id(tenant)
        .u16(kind.0)
        .position(position)
        .id(id)
        .done()
}

/// `lanes`: tenant(16) lane(4) → next free sequence.
pub(crate) fn lane(tenant: &TenantId, lane: u32) -> Vec<u8> {
    KeyBuf::new().id(tenant).u32(lane).done()
}

/// `unacked`: timestamp(8) id(16).
pub(crate) fn unacked(timestamp: u64, id: &EventId) -> Vec<u8> {
    KeyBuf::new().u64(timestamp).id(id).done()
}

/// `tenant_unacked`: tenant(16) timestamp(8) id(16).
pub(crate) fn tenant_unacked(tenant: &TenantId, timestamp: u64, id: &EventId) -> Vec<u8> {
    KeyBuf::new().id(tenant).u64(timestamp).id(id).done()
}

/// `chains`: tenant(16) correlation(16).
pub(crate) fn chain(tenant: &TenantId, correlation: &EventId) -> Vec<u8> {
    correlation_prefix(tenant, correlation).done()
}

/// `signals` and `commit_log`: tenant(16) sequence(8).
pub(crate) fn tenant_seq(tenant: &TenantId, sequence: u64) -> Vec<u8> {
    KeyBuf::new().id(tenant).u64(sequence).done()
}

/// `signal_index`: event(16) sequence(8).
pub(crate) fn signal_index(event: &EventId, sequence: u64) -> Vec<u8> {
    KeyBuf::new().id(event).u64(sequence).done()
}

/// Tag of the per-tenant commit-log counter in `counters`.
pub(crate) const COMMIT_COUNTER: u8 = b'E';
/// Tag of the per-tenant signal-log counter in `counters`.
pub(crate) const SIGNAL_COUNTER: u8 = b'S';

/// `counters`: tag(1) tenant(16) → u64.
pub(crate) fn counter(tag: u8, tenant: &TenantId) -> Vec<u8> {
    KeyBuf::new().byte(tag).id(tenant).done()
}

/// Reads a big-endian u32 at `at`, if the slice is long enough.
pub(crate) fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes(slice.try_into().ok()?))
}

/// Reads a big-endian u64 at `at`, if the slice is long enough.
pub(crate) fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at + 8)?;
    Some(u64::from_be_bytes(slice.try_into().ok()?))
}

/// Reads a UUID at `at`, if the slice is long enough.
pub(crate) fn uuid_at(bytes: &[u8], at: usize) -> Option<uuid::Uuid> {
    let slice: [u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
    Some(uuid::Uuid::from_bytes(slice))
}

/// Reads a position (depth, lane, sequence) at `at`.
pub(crate) fn position_at(bytes: &[u8], at: usize) -> Option<DagPosition> {
    Some(DagPosition::new(
        be_u32(bytes, at)?,
        be_u32(bytes, at + 4)?,
        be_u32(bytes, at + 8)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_keys_sort_by_kind_then_depth_lane_sequence() {
        let id = uuid::Uuid::now_v7();
        let tenant = TenantId::nil();
        let a = by_kind(EventKind(1), DagPosition::new(1, 5, 9), &tenant, &id);
        let b = by_kind(EventKind(1), DagPosition::new(2, 0, 0), &tenant, &id);
        let c = by_kind(EventKind(2), DagPosition::new(0, 0, 0), &tenant, &id);
        assert!(a < b && b < c);
    }

    #[test]
    fn big_endian_sequences_sort_numerically() {
        let tenant = TenantId::nil();
        assert!(tenant_seq(&tenant, 255) < tenant_seq(&tenant, 256));
        assert_eq!(be_u64(&tenant_seq(&tenant, 256), 16), Some(256));
    }
}
