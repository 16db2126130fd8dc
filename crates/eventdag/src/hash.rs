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

/// Computes an event's hash over its canonical encoding: the 64-byte header
/// (store-managed flags cleared, so acknowledging does not change it), the
/// tenant, the parents with their hashes, and the payload bytes as the
/// store encodes them.
#[must_use]
pub fn compute_hash(
    header: &EventHeader,
    tenant_id: &TenantId,
    parents: &[(EventId, EventHash)],
    payload_bytes: &[u8],
) -> EventHash {
    let mut stable = *header;
    stable.flags.remove(EventFlags::STORE_MANAGED);
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"eventdag/v1");
    hasher.update(&stable.to_bytes());
    hasher.update(tenant_id.as_bytes());
    hasher.update(&(parents.len() as u64).to_be_bytes());
    for (parent, parent_hash) in parents {
        hasher.update(parent.as_bytes());
        hasher.update(&parent_hash.0);
    }
    hasher.update(&(payload_bytes.len() as u64).to_be_bytes());
    hasher.update(payload_bytes);
    EventHash(*hasher.finalize().as_bytes())
}
