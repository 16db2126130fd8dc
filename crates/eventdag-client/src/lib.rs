//! The Rust client of `eventdag serve`: [`RemoteDag`] implements
//! [`eventdag::EventDag`] and [`eventdag::DagStore`] (so also
//! [`eventdag::EventDagExt`]), [`eventdag::WorkQueue`] and
//! [`eventdag::Forgetting`] over the
//! HTTP/JSON API, so that code
//! written against `LmdbDag` or `PgDag` runs against a server on another
//! machine by changing the line that opens the store.
//!
//! - Errors come back as the stores return them: the server's
//!   `{"error": {"code", "message"}}` is read back into the same
//!   [`eventdag::ErrorEffect`] variant with the same fields; a 429 under
//!   backpressure is [`eventdag::Effect::Retry`] with the time left; 503
//!   and transport failures are operational errors.
//! - Calls that are safe to repeat (reads, acknowledgments, appends whose
//!   events carry ids — chosen here by default) are retried a bounded
//!   number of times with backoff ([`RetryPolicy`]); signals are sent
//!   once, and a lost answer is `OutcomeUnknown`.
//! - [`RemoteDag::event_stream`] and [`RemoteDag::signal_stream`] follow
//!   the live streams and reconnect by themselves with `Last-Event-ID`,
//!   never yielding an item twice or skipping one.
//!
//! See `docs/client.md` for what the HTTP API cannot serve.
//!
//! ```no_run
//! use eventdag::prelude::*;
//! use eventdag_client::RemoteDag;
//! use serde_json::{json, Value};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = std::env::var("EVENTDAG_API_KEY").ok();
//! let dag: RemoteDag<Value> = RemoteDag::connect("http://127.0.0.1:7400", key.as_deref())?;
//! let root = dag.append_new(NewEvent::new(json!({"step": "plan"}))).await.into_result()?;
//! let child = dag
//!     .append_new(NewEvent::new(json!({"step": "act"})).parents([root.id()]))
//!     .await
//!     .into_result()?;
//! let line = dag.walk_ancestors(child.id(), 10).await.into_result()?;
//! assert_eq!(line.len(), 2);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod builder;
mod dag;
mod error;
mod forget;
mod message;
mod queue;
mod remote;
mod reply;
mod retry;
mod store;
mod stream;
mod transport;
mod wire;

pub use builder::RemoteDagBuilder;
pub use dag::Payload;
pub use error::ConnectError;
pub use forget::ServerRetentionRun;
pub use remote::RemoteDag;
pub use retry::RetryPolicy;
pub use stream::{EventFilter, LiveStream, SignalFilter};
