//! The conformance cases, by area. Each takes a fresh, empty store.

pub mod append;
pub mod assigned;
pub mod batch;
pub mod concurrency;
pub mod forget;
pub mod positions;
pub mod queries;
pub mod queue;
pub mod reappend;
pub mod signals;
pub mod tenants;
pub mod walks;
