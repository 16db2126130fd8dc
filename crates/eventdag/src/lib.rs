//! EventDag core: the data model, the [`EventDag`] trait, [`Effect`] and
//! [`ErrorEffect`], the append rules and hash chain every backend shares,
//! and [`MemoryDag`], the in-memory reference store.
//!
//! Backends live in their own crates (`eventdag-lmdb`,
//! `eventdag-postgres`, `eventdag-tiered`) and implement [`EventDag`] and
//! [`DagStore`]; [`EventDagExt`] adds conveniences to all of them. What
//! only backends need (the append and signal flows and the primitives
//! they run over) lives in [`backend`]; `use eventdag::prelude::*` brings
//! what users need.
//!
//! ```
//! use eventdag::prelude::*;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let dag = MemoryDag::new();
//! let root = dag.append_root(DEFAULT_TENANT, EventKind::DATA, json!({"step": "plan"})).await.ok().unwrap();
//! let child = dag.append_child(root.id(), EventKind::NOTE, json!({"step": "act"})).await.ok().unwrap();
//! let ancestors = dag.walk_ancestors(child.id(), 10).await.ok().unwrap();
//! assert_eq!(ancestors.iter().map(|e| e.id()).collect::<Vec<_>>(), vec![child.id(), root.id()]);
//! # });
//! ```
#![forbid(unsafe_code)]

pub mod backend;
mod dag;
mod draft;
mod effect;
mod error;
mod event;
mod ext;
mod flags;
mod forget;
mod hash;
mod header;
mod id;
mod kind;
mod limits;
mod memory;
mod placement;
mod position;
pub mod prelude;
mod queue;
mod raw_json;
pub mod retention;
mod signal;
mod store;
mod tenants;

pub use backend::AppendLimits;
pub use dag::EventDag;
pub use draft::NewEvent;
pub use effect::Effect;
pub use error::{ErrorClass, ErrorEffect};
pub use event::Event;
pub use ext::EventDagExt;
pub use flags::EventFlags;
pub use forget::{
    check_redaction_reason, ChainRemoval, Forgetting, KeptReason, Redaction, RetentionPolicy,
    RetentionRule, TenantErasure, MAX_REDACTION_REASON_BYTES, MAX_RETENTION_RULES,
};
pub use hash::{payload_hash, EventHash, HashVersion};
pub use header::{EventHeader, HEADER_BYTES};
pub use id::{new_event_id, now_micros, EventId, TenantId, DEFAULT_TENANT};
pub use kind::{EventCategory, EventKind, InvalidKindType, MAX_KIND_TYPE};
pub use limits::{MAX_BATCH_EVENTS, MAX_CHAIN_EVENTS, MAX_LIMIT};
pub use memory::MemoryDag;
pub use placement::Placement;
pub use position::DagPosition;
pub use queue::{
    check_duration, AckLease, ClaimRequest, Claimed, DeadLetter, Lease, LeaseRef, LeaseToken,
    QueueEntry, WorkQueue, DEAD_LETTER_ERROR_CODE, DEFAULT_MAX_ATTEMPTS, MAX_CLAIM,
    MAX_CONSUMER_BYTES, MAX_LEASE,
};
pub use raw_json::RawJson;
pub use signal::{ChainState, SignalRecord, UpstreamSignal};
pub use store::{CursorEvent, DagStore, Mismatch, Verification};
pub use tenants::{ApiKeyRecord, TenantRecord, TenantStore};

/// Re-exported so that backends and users name the same `async_trait`.
pub use async_trait::async_trait;
