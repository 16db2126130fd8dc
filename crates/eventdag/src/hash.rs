//! The BLAKE3 hash chain (SPEC §6): each event's hash covers its canonical
//! encoding and its parents' hashes, so a changed byte anywhere upstream
//! shows in every descendant.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{EventFlags, EventHeader, EventId, TenantId};

/// A BLAKE3 hash of an event. All zeros until a store computed it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventHash(pub [u8; 32]);

impl EventHash {
    /// The value of an event that no store has hashed yet.
    pub const UNSET: EventHash = EventHash([0; 32]);

    /// Lower-case hex, 64 characters.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    ///
    /// # Errors
    /// A message saying what was wrong when `text` is not 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)
            .map_err(|err| format!("hash {text:?} is not 64 hex digits: {err}"))?;
        Ok(Self(out))
    }
}

impl std::fmt::Debug for EventHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventHash({})", self.to_hex())
    }
}

impl std::fmt::Display for EventHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for EventHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for EventHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EventHash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The rule an event's hash was computed by (SPEC §6). Stored with every
/// event so that events hashed before a new rule keep verifying under
/// their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum HashVersion {
    /// The hash covers the payload bytes themselves: a redacted event's
    /// own hash can no longer be checked (its descendants still can).
    V1,
    /// The hash covers a BLAKE3 hash of the payload bytes, which a
    /// redaction keeps: a redacted event stays verifiable.
    V2,
}

impl HashVersion {
    /// The version every store seals new events with.
    pub const CURRENT: HashVersion = HashVersion::V2;

    /// The number stored and shown in JSON (`1`, `2`).
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            HashVersion::V1 => 1,
            HashVersion::V2 => 2,
        }
    }

    /// The version of a stored number; `None` for one this release does
    /// not know.
    #[must_use]
    pub const fn from_number(number: u8) -> Option<Self> {
        match number {
            1 => Some(HashVersion::V1),
            2 => Some(HashVersion::V2),
            _ => None,
        }
    }

    /// The version JSON written before versions existed carries.
    #[must_use]
    pub const fn legacy() -> Self {
        HashVersion::V1
    }
}

impl Default for HashVersion {
    fn default() -> Self {
        HashVersion::CURRENT
    }
}

impl From<HashVersion> for u8 {
    fn from(version: HashVersion) -> u8 {
        version.number()
    }
}

impl TryFrom<u8> for HashVersion {
    type Error = String;

    fn try_from(number: u8) -> Result<Self, String> {
        HashVersion::from_number(number)
            .ok_or_else(|| format!("hash version {number} is unknown: accepted 1 or 2"))
    }
}

/// BLAKE3 of a payload's stored bytes: what a version-2 event hash covers
/// in place of the bytes, and what a redaction keeps.
#[must_use]
pub fn payload_hash(payload_bytes: &[u8]) -> EventHash {
    EventHash(*blake3::hash(payload_bytes).as_bytes())
}

/// What an event hash covers of the payload: its bytes, or (version 2
/// only) the hash of its bytes kept by a redaction.
#[derive(Debug, Clone, Copy)]
pub enum PayloadEvidence<'a> {
    /// The payload bytes as stored.
    Bytes(&'a [u8]),
    /// [`payload_hash`] of bytes no longer stored.
    Hash(EventHash),
}

/// Computes an event's hash under the current version from its payload
/// bytes: what a store seals a new event with.
#[must_use]
pub fn compute_hash(
    header: &EventHeader,
    tenant_id: &TenantId,
    parents: &[(EventId, EventHash)],
    payload_bytes: &[u8],
) -> EventHash {
    // V2 always has an answer: it accepts either kind of evidence.
    compute_hash_as(
        HashVersion::CURRENT,
        header,
        tenant_id,
        parents,
        PayloadEvidence::Bytes(payload_bytes),
    )
    .unwrap_or(EventHash::UNSET)
}

/// Computes an event's hash under `version` over its canonical encoding:
/// a domain tag naming the version, the 64-byte header (store-managed
/// flags cleared, so acknowledging does not change it), the tenant, the
/// parents with their hashes, and the payload — its bytes under version
/// 1, [`payload_hash`] of them under version 2.
///
/// `None` when version 1 is asked for with only a payload hash: a
/// version-1 hash cannot be computed without the bytes.
#[must_use]
pub fn compute_hash_as(
    version: HashVersion,
    header: &EventHeader,
    tenant_id: &TenantId,
    parents: &[(EventId, EventHash)],
    payload: PayloadEvidence<'_>,
) -> Option<EventHash> {
    let mut stable = *header;
    stable.flags.remove(EventFlags::STORE_MANAGED);
    let mut hasher = blake3::Hasher::new();
    hasher.update(match version {
        HashVersion::V1 => b"eventdag/v1",
        HashVersion::V2 => b"eventdag/v2",
    });
    hasher.update(&stable.to_bytes());
    hasher.update(tenant_id.as_bytes());
    hasher.update(&(parents.len() as u64).to_be_bytes());
    for (parent, parent_hash) in parents {
        hasher.update(parent.as_bytes());
        hasher.update(&parent_hash.0);
    }
    match (version, payload) {
        (HashVersion::V1, PayloadEvidence::Bytes(bytes)) => {
            hasher.update(&(bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        }
        (HashVersion::V1, PayloadEvidence::Hash(_)) => return None,
        (HashVersion::V2, PayloadEvidence::Bytes(bytes)) => {
            hasher.update(&payload_hash(bytes).0);
        }
        (HashVersion::V2, PayloadEvidence::Hash(hash)) => {
            hasher.update(&hash.0);
        }
    }
    Some(EventHash(*hasher.finalize().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DagPosition, EventKind};

    fn header() -> EventHeader {
        EventHeader::new(
            uuid::Uuid::now_v7(),
            uuid::Uuid::now_v7(),
            1_700_000_000_000_000,
            DagPosition::new(0, 0, 0),
            2,
            EventKind(1),
            EventFlags::REQUIRES_ACK,
        )
    }

    #[test]
    fn version_two_covers_the_payload_hash_not_the_bytes() {
        let header = header();
        let tenant = TenantId::nil();
        let bytes = b"{}";
        let from_bytes = compute_hash(&header, &tenant, &[], bytes);
        let from_hash = compute_hash_as(
            HashVersion::V2,
            &header,
            &tenant,
            &[],
            PayloadEvidence::Hash(payload_hash(bytes)),
        );
        assert_eq!(Some(from_bytes), from_hash);
        assert_ne!(compute_hash(&header, &tenant, &[], b"[]"), from_bytes);
    }

    #[test]
    fn versions_differ_and_version_one_needs_the_bytes() {
        let header = header();
        let tenant = TenantId::nil();
        let v1 = compute_hash_as(
            HashVersion::V1,
            &header,
            &tenant,
            &[],
            PayloadEvidence::Bytes(b"{}"),
        );
        assert!(v1.is_some());
        assert_ne!(v1, Some(compute_hash(&header, &tenant, &[], b"{}")));
        let without_bytes = compute_hash_as(
            HashVersion::V1,
            &header,
            &tenant,
            &[],
            PayloadEvidence::Hash(payload_hash(b"{}")),
        );
        assert_eq!(without_bytes, None);
    }

    #[test]
    fn version_numbers_round_trip_and_unknown_ones_are_refused() {
        for version in [HashVersion::V1, HashVersion::V2] {
            assert_eq!(HashVersion::from_number(version.number()), Some(version));
        }
        let err = serde_json::from_str::<HashVersion>("3").unwrap_err();
        assert!(err.to_string().contains("accepted 1 or 2"), "{err}");
    }
}
