//! `NewEvent`: an event to append, as the caller states it.

use crate::{
    DagPosition, Event, EventFlags, EventId, EventKind, Placement, TenantId, DEFAULT_TENANT,
};

/// An event to append ([`crate::DagStore::append_events`],
/// [`crate::EventDagExt::append_new`]): only the payload is required. What
/// the caller leaves out the store fills in inside its write transaction:
/// the id, the position (see [`Placement`]), the correlation chain and
/// the timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<P> {
    /// A client-chosen v7 id: appending the same draft again returns the
    /// stored event instead of a second copy. `None`: one is assigned.
    pub id: Option<EventId>,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The parents (none for a root).
    pub parents: Vec<EventId>,
    /// Where the event goes; default: assigned on the first parent's lane.
    pub placement: Placement,
    /// The kind.
    pub kind: EventKind,
    /// The flags. The store-managed ones (ACKNOWLEDGED, COMPENSATED) are
    /// refused.
    pub flags: EventFlags,
    /// The chain (a v7 id); default inherited from the first parent, or
    /// the event's own id for a root.
    pub correlation_id: Option<EventId>,
    /// µs since the epoch; default now.
    pub timestamp: Option<u64>,
    /// The payload.
    pub payload: P,
}

impl<P> NewEvent<P> {
    /// A root of the default tenant with kind DATA and no flags.
    pub fn new(payload: P) -> Self {
        Self {
            id: None,
            tenant_id: DEFAULT_TENANT,
            parents: Vec::new(),
            placement: Placement::default(),
            kind: EventKind::DATA,
            flags: EventFlags::empty(),
            correlation_id: None,
            timestamp: None,
            payload,
        }
    }

    /// In `tenant_id`.
    #[must_use]
    pub fn tenant(mut self, tenant_id: TenantId) -> Self {
        self.tenant_id = tenant_id;
        self
    }

    /// Under `parents`.
    #[must_use]
    pub fn parents(mut self, parents: impl IntoIterator<Item = EventId>) -> Self {
        self.parents = parents.into_iter().collect();
        self
    }

    /// On `lane`, at the position the store assigns there.
    #[must_use]
    pub fn lane(mut self, lane: u32) -> Self {
        self.placement = Placement::Assigned { lane: Some(lane) };
        self
    }

    /// At exactly `position`, checked by the store (no automatic retry).
    #[must_use]
    pub fn at(mut self, position: DagPosition) -> Self {
        self.placement = Placement::Given(position);
        self
    }

    /// With the depth and sequence assigned by the store, on the lane the
    /// placement names (the first parent's if it names none).
    #[must_use]
    pub fn assigned(mut self) -> Self {
        self.placement = Placement::Assigned {
            lane: self.placement.lane(),
        };
        self
    }

    /// Of `kind`.
    #[must_use]
    pub fn kind(mut self, kind: EventKind) -> Self {
        self.kind = kind;
        self
    }

    /// With `flags`.
    #[must_use]
    pub fn flags(mut self, flags: EventFlags) -> Self {
        self.flags = flags;
        self
    }

    /// With a client-chosen id.
    #[must_use]
    pub fn id(mut self, id: EventId) -> Self {
        self.id = Some(id);
        self
    }

    /// In chain `correlation_id`.
    #[must_use]
    pub fn correlation(mut self, correlation_id: EventId) -> Self {
        self.correlation_id = Some(correlation_id);
        self
    }

    /// At `timestamp` (µs since the epoch).
    #[must_use]
    pub fn timestamp(mut self, timestamp: u64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }
}

/// An [`Event`] as SPEC §1's `append` takes it: its position given, a nil
/// id, nil correlation id or zero timestamp meaning "fill in"; its
/// `payload_size` and hash are the store's to set and are ignored.
impl<P> From<Event<P>> for NewEvent<P> {
    fn from(event: Event<P>) -> Self {
        let header = event.header;
        Self {
            id: (!header.event_id.is_nil()).then_some(header.event_id),
            tenant_id: event.tenant_id,
            parents: event.parents,
            placement: Placement::Given(header.position),
            kind: header.event_kind,
            flags: header.flags,
            correlation_id: (!header.correlation_id.is_nil()).then_some(header.correlation_id),
            timestamp: (header.timestamp != 0).then_some(header.timestamp),
            payload: event.payload,
        }
    }
}
