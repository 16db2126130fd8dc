//! Serializes this server's own batch appends per tenant.
//!
//! Single appends need no lock: the store assigns their position inside
//! its write transaction (`DagStore::append_assigned`). A batch is placed
//! optimistically by `EventDagExt::append_new_batch` (read the lanes' next
//! sequences, append, retry the whole batch on a conflict, at most
//! `eventdag::MAX_SEQUENCE_RETRIES` times); dozens of concurrent batches on
//! one lane could exhaust those retries. Taking a per-tenant lock around
//! the placement removes the races between this server's batches; races
//! with other processes remain rare and are absorbed by the retries.

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
