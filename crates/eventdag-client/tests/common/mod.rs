//! Support of the client's tests: a live server in the test process and
//! the conformance suite's store over it.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

#[macro_use]
pub mod suite;
pub mod erasure;
pub mod server;
pub mod tenanted;

/// Events of the competing-consumers race through the client: every
/// claim and acknowledgment is an HTTP request here, so the race that
/// proves exclusivity at full size (10,000 events) runs on each store
/// directly, and this one proves the same over HTTP at a size that keeps
/// CI's run short.
pub const REMOTE_RACE_EVENTS: usize = 2_000;
