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
pub mod server;
pub mod tenanted;
