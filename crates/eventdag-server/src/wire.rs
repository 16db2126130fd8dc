//! Request bodies: what `POST /v1/events` and `POST /v1/events:batch`
//! accept. Unknown fields are refused, naming the field.

use eventdag::RawJson;
use eventdag::{DagPosition, EventFlags, EventId, EventKind, NewEvent, Placement, TenantId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::ApiError;

/// One event to append. Only `payload` is required.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEventBody {
    /// Any JSON value (required): object, array, string, number,
    /// boolean or null. Stored and served exactly as sent (numbers, key
    /// order, escapes), without the whitespace between tokens.
    #[schema(value_type = Value)]
    pub payload: RawJson,
    /// Parent event ids (default none: a root).
    #[serde(default)]
    #[schema(schema_with = crate::api_schemas::parents_schema)]
    pub parents: Vec<EventId>,
    /// Lane (default the first parent's lane, else 0).
    #[serde(default)]
    #[schema(schema_with = crate::api_schemas::optional_u32_schema)]
    pub lane: Option<u32>,
    /// Kind 0..=65535: upper 4 bits category, lower 12 bits type
    /// (default 0).
    #[serde(default)]
    #[schema(value_type = u16, minimum = 0, maximum = 65535)]
    pub kind: EventKind,
    /// Flag names (REQUIRES_ACK, TRANSACTIONAL, COMPRESSED, REPLAY,
    /// CRITICAL; default none) or their bits as a number.
    #[serde(default)]
    #[schema(schema_with = crate::api_schemas::flags_schema)]
    pub flags: EventFlags,
    /// The correlation chain (default the first parent's, else the
    /// event's own id).
    #[serde(default)]
    #[schema(schema_with = crate::api_schemas::uuid_v7_schema)]
    pub correlation_id: Option<EventId>,
    /// A client-chosen UUID v7: retrying the same body returns the stored
    /// event instead of a copy.
    #[serde(default)]
    #[schema(schema_with = crate::api_schemas::uuid_v7_schema)]
    pub id: Option<EventId>,
    /// An explicit position, checked by the store (409 when the sequence
    /// is taken); default the next free one, assigned atomically.
    #[serde(default)]
    pub position: Option<PositionBody>,
}

/// A position in a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionBody {
    /// 0 for a root, else 1 + the deepest parent's depth.
    #[schema(schema_with = crate::api_schemas::u32_schema)]
    pub depth: u32,
    /// The lane.
    #[schema(schema_with = crate::api_schemas::u32_schema)]
    pub lane: u32,
    /// The lane's next free sequence in the tenant.
    #[schema(schema_with = crate::api_schemas::u32_schema)]
    pub sequence: u32,
}

impl NewEventBody {
    /// The draft to append for `tenant_id`. Only the shape is checked
    /// here; every rule (v7 ids, store-managed flags, …) is the store's,
    /// the same for library and HTTP callers.
    ///
    /// # Errors
    /// [`ApiError::BadRequest`] for a `lane` beside a `position`.
    pub fn into_draft(self, tenant_id: TenantId) -> Result<NewEvent<RawJson>, ApiError> {
        let placement = match (self.position, self.lane) {
            (Some(position), Some(lane)) => {
                return Err(ApiError::bad_request(
                    "lane",
                    format!(
                        "lane {lane} given with a position (on lane {}); give one: position names the lane",
                        position.lane
                    ),
                ));
            }
            (Some(p), _) => Placement::Given(DagPosition::new(p.depth, p.lane, p.sequence)),
            (None, lane) => Placement::Assigned { lane },
        };
        Ok(NewEvent {
            id: self.id,
            tenant_id,
            parents: self.parents,
            placement,
            kind: self.kind,
            flags: self.flags,
            correlation_id: self.correlation_id,
            timestamp: None,
            payload: self.payload,
        })
    }
}
