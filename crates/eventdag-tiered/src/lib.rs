//! `TieredDag`: EventDag's LMDB hot cache in front of PostgreSQL, the
//! shared source of truth (SPEC §4.4).
//!
//! - Writes commit in PostgreSQL first; `Ok` only after that commit; the
//!   new events fill the cache from the commit's own answer (no
//!   read-back). A cache failure never fails or loses a committed write:
//!   the cache is dropped instead.
//! - Reads by id and ancestor walks are served from the cache when it
//!   holds every event they need (parents never change, so such an answer
//!   is complete); otherwise one PostgreSQL query answers and fills the
//!   cache. Descendants walks and correlation chains, which grow with
//!   appends, are served from the cache by the ids of a remembered earlier
//!   answer while no append to the tenant has been seen since and within
//!   the staleness bound. Kind queries, the acknowledgment queue, signals,
//!   chain state and positions always come from PostgreSQL.
//! - The only mutable state cached is an event's ACKNOWLEDGED and
//!   COMPENSATED flags, kept current by following PostgreSQL's durable
//!   change log, which every node writes in the same transaction as the
//!   change (notifications only wake the follower early). They are served
//!   only while the follower has proven that everything committed more
//!   than [`TieredOptions::staleness_bound`] ago has been applied.
//! - Forgetting ([`eventdag::Forgetting`]) runs in PostgreSQL, then drops
//!   what is gone from this node's cache before it returns; other nodes'
//!   followers read it from the change log and drop it too (a redacted
//!   entry, a removed chain's entries, everything after a tenant
//!   erasure), within the same bound. A fill of records read before such
//!   a removal stores nothing.
//! - The cache is bounded by size and age ([`TieredOptions::max_cache_bytes`],
//!   [`TieredOptions::max_age`]); a deleted or damaged cache directory
//!   starts empty; when PostgreSQL is unreachable cached events are still
//!   served (degraded mode) and writes fail within the PostgreSQL
//!   operation timeout.
//!
//! Design: `docs/storage-tiered.md`.
//!
//! ```no_run
//! use eventdag::{EventDag, EventDagExt, EventKind, DEFAULT_TENANT};
//! use eventdag_tiered::TieredDag;
//! use serde_json::{json, Value};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let dag: TieredDag<Value> =
//!     TieredDag::open("./eventdag-cache", "postgres://postgres@127.0.0.1:5432/eventdag").await?;
//! let root = dag.append_root(DEFAULT_TENANT, EventKind::DATA, json!({"step": "plan"})).await.into_result()?;
//! let child = dag.append_child(root.id(), EventKind::NOTE, json!({"step": "act"})).await.into_result()?;
//! // Served from LMDB once the node is fresh; from PostgreSQL otherwise.
//! let ancestors = dag.walk_ancestors(child.id(), 10).await.into_result()?;
//! assert_eq!(ancestors.len(), 2);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod answers;
mod cache;
mod dag;
mod dag_store;
mod error;
mod event_dag;
mod forget;
mod freshness;
mod listener;
mod options;
mod queue;
mod reads;
mod writes;

pub use dag::{CacheStats, TieredDag};
pub use error::TieredError;
pub use options::{
    TieredOptions, DEFAULT_MAX_AGE, DEFAULT_MAX_CACHE_BYTES, DEFAULT_STALENESS_BOUND,
};
