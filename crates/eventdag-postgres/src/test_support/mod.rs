//! Test support for this crate and every crate built on it (server,
//! tiered store, CLI): scratch databases on the shared server and private
//! clusters for fault tests.
//!
//! Only compiled with the `test-support` feature. It panics instead of
//! returning errors: that is how a test fails, with a message that says
//! what is missing and how to get it.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

mod private_cluster;
mod scratch;

pub use private_cluster::PrivateCluster;
pub use scratch::{admin_url, with_database, ScratchDatabase, DEFAULT_TEST_URL};
