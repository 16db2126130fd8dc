//! `PgDag`: the EventDag store on PostgreSQL — durable, and shared by every
//! node that connects to the same database (SPEC §4.3).
//!
//! - Schema by embedded, versioned migrations applied on connect (safe
//!   from many nodes at once: the migrator holds an advisory lock).
//! - Every append is one transaction running the shared
//!   `eventdag::append_rules`; a batch inserts all its rows in one
//!   statement. (tenant, lane, sequence) is unique in the database.
//! - Walks are one recursive query each, limited in the database.
//! - A per-tenant log row, locked by every write until commit, makes the
//!   cursor of [`eventdag::DagStore::events_after`] follow commit order:
//!   a tailing reader never skips a slow transaction.
//! - Writes `NOTIFY` their changes; [`PgDag::subscribe`] delivers them.
//! - [`eventdag::Forgetting`]: redaction, chain removal and tenant
//!   erasure, each one transaction that logs its change for other nodes
//!   (migration 0005); retention policies in `eventdag_retention`.
//!
//! Every call is bounded by [`PgOptions::operation_timeout`] and returns
//! an operational [`eventdag::ErrorEffect`] when PostgreSQL is away; the
//! pool reconnects by itself. Design: `docs/storage-postgres.md`.
//!
//! ```no_run
//! use eventdag::{EventDag, EventDagExt, EventKind, DEFAULT_TENANT};
//! use eventdag_postgres::PgDag;
//! use serde_json::{json, Value};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let dag: PgDag<Value> = PgDag::connect("postgres://postgres@127.0.0.1:5432/eventdag").await?;
//! let mut changes = dag.subscribe().await?;
//! let root = dag.append_root(DEFAULT_TENANT, EventKind::DATA, json!({"step": "plan"})).await.into_result()?;
//! let child = dag.append_child(root.id(), EventKind::NOTE, json!({"step": "act"})).await.into_result()?;
//! let ancestors = dag.walk_ancestors(child.id(), 10).await.into_result()?;
//! assert_eq!(ancestors.len(), 2);
//! println!("{:?}", changes.recv().await?);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod append;
mod changes;
mod codec;
mod commit;
mod dag;
mod error;
mod forget;
mod notify;
mod options;
mod queries;
mod queue;
mod reads;
mod signal_reads;
mod signals;
mod sql_error;
mod store;
mod tenants;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use changes::{ChangePage, LoggedChange, MAX_CHANGES_PER_PAGE};
pub use error::PgError;
pub use notify::{AppendedEvent, PgChange, CHANNEL, MAX_NOTIFIED_EVENTS};
pub use options::{PgOptions, DEFAULT_CHANGE_LOG_RETENTION};
pub use store::PgDag;
