//! What a user of any store needs in scope: the traits, the conveniences
//! and the model types. `use eventdag::prelude::*;`

pub use crate::{
    DagPosition, DagStore, Effect, ErrorEffect, Event, EventDag, EventDagExt, EventFlags,
    EventHeader, EventId, EventKind, MemoryDag, NewEvent, Placement, RawJson, TenantId,
    TenantStore, UpstreamSignal, WorkQueue, DEFAULT_TENANT,
};
