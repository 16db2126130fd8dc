//! An event: header, tenant, parents, payload and hash.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    DagPosition, EventFlags, EventHash, EventHeader, EventId, EventKind, HashVersion, Redaction,
    TenantId, DEFAULT_TENANT,
};

/// An event of the graph.
///
/// In JSON an event is one flat object: `id`, `tenant_id`, `correlation_id`,
/// `parents`, `timestamp`, `position {depth, lane, sequence}`, `kind`,
/// `flags`, `acknowledged`, `payload_size`, `payload`, `hash` and
/// `hash_version`, and `redaction` when the payload was redacted (the
/// payload is then `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event<P> {
    /// The header.
    pub header: EventHeader,
    /// The owning tenant; [`DEFAULT_TENANT`] unless set.
    pub tenant_id: TenantId,
    /// The parents: empty for a root, several for a fan-in merge.
    pub parents: Vec<EventId>,
    /// The payload.
    pub payload: P,
    /// The hash-chain record (SPEC §6), computed by the store on append.
    pub hash: EventHash,
    /// The rule `hash` was computed by; the store sets it on append.
    pub hash_version: HashVersion,
    /// Set when the payload was redacted (SPEC §10): `payload` is then
    /// the payload type's value for JSON `null`.
    pub redaction: Option<Redaction>,
}

impl<P> Event<P> {
    /// A root event of the default tenant.
    pub fn new(header: EventHeader, payload: P) -> Self {
        Self {
            header,
            tenant_id: DEFAULT_TENANT,
            parents: Vec::new(),
            payload,
            hash: EventHash::UNSET,
            hash_version: HashVersion::CURRENT,
            redaction: None,
        }
    }

    /// The same event in `tenant_id`.
    #[must_use]
    pub fn with_tenant(mut self, tenant_id: TenantId) -> Self {
        self.tenant_id = tenant_id;
        self
    }

    /// The same event under `parents`.
    #[must_use]
    pub fn with_parents(mut self, parents: Vec<EventId>) -> Self {
        self.parents = parents;
        self
    }

    /// The event's id.
    pub fn id(&self) -> EventId {
        self.header.event_id
    }

    /// The event's position.
    pub fn position(&self) -> DagPosition {
        self.header.position
    }

    /// Whether the store has acknowledged the event.
    pub fn is_acknowledged(&self) -> bool {
        self.header.flags.contains(EventFlags::ACKNOWLEDGED)
    }

    /// Whether the payload was redacted.
    pub fn is_redacted(&self) -> bool {
        self.redaction.is_some()
    }

    /// The same event with another payload.
    pub fn map_payload<Q>(self, map: impl FnOnce(P) -> Q) -> Event<Q> {
        Event {
            header: self.header,
            tenant_id: self.tenant_id,
            parents: self.parents,
            payload: map(self.payload),
            hash: self.hash,
            hash_version: self.hash_version,
            redaction: self.redaction,
        }
    }
}

/// The JSON shape of an event.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventJson<P> {
    #[serde(default)]
    id: EventId,
    #[serde(default)]
    tenant_id: TenantId,
    #[serde(default)]
    correlation_id: EventId,
    #[serde(default)]
    parents: Vec<EventId>,
    #[serde(default)]
    timestamp: u64,
    #[serde(default)]
    position: DagPosition,
    #[serde(default)]
    kind: EventKind,
    #[serde(default)]
    flags: EventFlags,
    /// Derived from `flags`; ignored when reading.
    #[serde(default)]
    acknowledged: bool,
    #[serde(default)]
    payload_size: u32,
    payload: P,
    #[serde(default)]
    hash: EventHash,
    /// Absent in JSON written before hash versions existed: version 1.
    #[serde(default = "HashVersion::legacy")]
    hash_version: HashVersion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redaction: Option<Redaction>,
}

impl<P: Serialize> Serialize for Event<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let header = &self.header;
        EventJson {
            id: header.event_id,
            tenant_id: self.tenant_id,
            correlation_id: header.correlation_id,
            parents: self.parents.clone(),
            timestamp: header.timestamp,
            position: header.position,
            kind: header.event_kind,
            flags: header.flags,
            acknowledged: self.is_acknowledged(),
            payload_size: header.payload_size,
            payload: &self.payload,
            hash: self.hash,
            hash_version: self.hash_version,
            redaction: self.redaction.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de, P: DeserializeOwned> Deserialize<'de> for Event<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = EventJson::<P>::deserialize(deserializer)?;
        Ok(Event {
            header: EventHeader::new(
                json.id,
                json.correlation_id,
                json.timestamp,
                json.position,
                json.payload_size,
                json.kind,
                json.flags,
            ),
            tenant_id: json.tenant_id,
            parents: json.parents,
            payload: json.payload,
            hash: json.hash,
            hash_version: json.hash_version,
            redaction: json.redaction,
        })
    }
}
