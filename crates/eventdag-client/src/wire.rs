//! Request bodies in the server's JSON shapes (docs/server.md): what
//! `POST /v1/events` and `POST /v1/events:batch` take. Answers are read
//! with the core's own `Deserialize` impls (`Event`, `SignalRecord`, …),
//! so the client never depends on how the server holds payloads.

use eventdag::{DagPosition, ErrorEffect, EventId, EventKind, NewEvent, Placement, TenantId};
use serde::Serialize;

/// One event to append, as `NewEventBody` on the server reads it.
#[derive(Debug, Serialize)]
pub(crate) struct DraftBody<'a, P> {
    payload: &'a P,
    #[serde(skip_serializing_if = "<[EventId]>::is_empty")]
    parents: &'a [EventId],
    #[serde(skip_serializing_if = "Option::is_none")]
    lane: Option<u32>,
    kind: EventKind,
    /// As bits: exact for every flag, named or not, and refused by the
    /// store (not here) when store-managed, as for library callers.
    flags: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<EventId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<EventId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<DagPosition>,
}

impl<'a, P> DraftBody<'a, P> {
    /// The body of `draft`; `tenant` is the client's tenant when known.
    ///
    /// # Errors
    /// `InvalidInput` for what the HTTP API cannot carry: a timestamp
    /// (the server stamps every event) or another tenant than the key's.
    pub(crate) fn of(
        draft: &'a NewEvent<P>,
        tenant: Option<TenantId>,
    ) -> Result<Self, ErrorEffect> {
        check_tenant(tenant, draft.tenant_id)?;
        if draft.timestamp.is_some() {
            return Err(ErrorEffect::invalid(
                "timestamp",
                "the HTTP API takes no timestamp: the server stamps each event when it stores it; leave it 0 (None)",
            ));
        }
        let (lane, position) = match draft.placement {
            Placement::Given(position) => (None, Some(position)),
            Placement::Assigned { lane } => (lane, None),
        };
        Ok(Self {
            payload: &draft.payload,
            parents: &draft.parents,
            lane,
            kind: draft.kind,
            flags: draft.flags.bits(),
            correlation_id: draft.correlation_id,
            id: draft.id,
            position,
        })
    }
}

/// Refuses a tenant other than the client's, when the client knows its.
pub(crate) fn check_tenant(known: Option<TenantId>, named: TenantId) -> Result<(), ErrorEffect> {
    match known {
        Some(tenant) if tenant != named => Err(ErrorEffect::invalid(
            "tenant_id",
            format!("this client's API key serves tenant {tenant}; tenant {named} cannot be reached with it (connect with that tenant's key)"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use eventdag::{EventFlags, EventKind, NewEvent};
    use serde_json::json;

    use super::*;

    fn body(draft: &NewEvent<serde_json::Value>) -> serde_json::Value {
        serde_json::to_value(DraftBody::of(draft, None).unwrap()).unwrap()
    }

    #[test]
    fn drafts_take_the_servers_shape() {
        let parent = uuid::Uuid::now_v7();
        let assigned = NewEvent::new(json!({"a": 1}))
            .parents([parent])
            .lane(2)
            .kind(EventKind(0x4001))
            .flags(EventFlags::REQUIRES_ACK | EventFlags::CRITICAL);
        assert_eq!(
            body(&assigned),
            json!({"payload": {"a": 1}, "parents": [parent], "lane": 2, "kind": 0x4001,
                   "flags": (EventFlags::REQUIRES_ACK | EventFlags::CRITICAL).bits()})
        );
        let given = NewEvent::new(json!(null)).at(DagPosition::new(0, 1, 4));
        assert_eq!(
            body(&given),
            json!({"payload": null, "kind": 0, "flags": 0, "position": {"depth": 0, "lane": 1, "sequence": 4}})
        );
    }

    #[test]
    fn what_http_cannot_carry_is_refused_before_sending() {
        let stamped = NewEvent::new(json!(1)).timestamp(5);
        assert!(
            matches!(DraftBody::of(&stamped, None), Err(ErrorEffect::InvalidInput { field, .. }) if field == "timestamp")
        );
        let mine = uuid::Uuid::now_v7();
        let elsewhere = NewEvent::new(json!(1)).tenant(uuid::Uuid::now_v7());
        assert!(
            matches!(DraftBody::of(&elsewhere, Some(mine)), Err(ErrorEffect::InvalidInput { field, .. }) if field == "tenant_id")
        );
        assert!(
            DraftBody::of(&elsewhere, None).is_ok(),
            "unchecked without a known tenant"
        );
    }
}
