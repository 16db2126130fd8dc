//! `NewEvent`: an event to append whose position the store works out.

use crate::{DagPosition, EventFlags, EventId, EventKind, TenantId, DEFAULT_TENANT};

/// An event to append with [`crate::EventDagExt::append_new`]: only the
/// payload is required; the depth comes from the parents and the sequence
/// is the lane's next free one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<P> {
    /// A client-chosen v7 id: appending the same draft again returns the
    /// stored event instead of a second copy. `None`: one is assigned.
    pub id: Option<EventId>,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The parents (none for a root).
    pub parents: Vec<EventId>,
    /// The lane; default the first parent's lane, else 0.
    pub lane: Option<u32>,
    /// An explicit position, checked as by `append` (no automatic retry).
    pub position: Option<DagPosition>,
    /// The kind.
    pub kind: EventKind,
    /// The flags.
    pub flags: EventFlags,
    /// The chain; default inherited from the first parent, or the event's
    /// own id for a root.
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
            lane: None,
            position: None,
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

    /// On `lane`.
    #[must_use]
    pub fn lane(mut self, lane: u32) -> Self {
        self.lane = Some(lane);
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
}
