//! Serializes this server's own position-assigning appends per tenant.
//!
//! `EventDagExt::append_new` reads the lane's next sequence, then appends
//! optimistically and retries on a conflict (at most
//! `eventdag::MAX_SEQUENCE_RETRIES` times). Dozens of concurrent requests
//! on one lane can exhaust those retries and answer 409 although the
//! client asked the server to assign the position. Taking a per-tenant
//! lock around the read-then-append removes the races between this
//! server's requests; races with other processes remain rare and are
//! absorbed by the retries. Stores write one transaction at a time
//! anyway, so the lock costs little throughput.

use std::hash::BuildHasher;

use eventdag::TenantId;
use tokio::sync::{Mutex, MutexGuard};

/// Lock stripes: tenants hashing to the same stripe share a lock, which
/// bounds memory whatever the number of tenants.
const STRIPES: usize = 64;

pub(crate) struct AppendLocks {
    stripes: [Mutex<()>; STRIPES],
    hasher: std::collections::hash_map::RandomState,
}

impl AppendLocks {
    pub(crate) fn new() -> Self {
        Self {
            stripes: std::array::from_fn(|_| Mutex::new(())),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Waits for the lock of `tenant`'s stripe.
    pub(crate) async fn lock(&self, tenant: TenantId) -> MutexGuard<'_, ()> {
        let stripe = usize::try_from(self.hasher.hash_one(tenant) % STRIPES as u64).unwrap_or(0);
        self.stripes[stripe].lock().await
    }
}
