//! The write protocol: PostgreSQL commits first; then the cache is filled
//! from the commit's own answer and the tenants' remembered answers are
//! outdated, before `Ok`.

use eventdag::{Effect, Event, EventId, TenantId};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::TieredDag;

/// Appends of at most this many events fill the cache right after their
/// commit; larger batches fill on first read (encoding thousands of
/// records would lengthen the call for events nobody may read).
const COMMIT_FILL: usize = 64;

impl<P> TieredDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Outdates the remembered answers of the tenants of events just
    /// appended (called whatever the outcome: an operational error may
    /// hide a commit).
    pub(crate) fn appended_to(&self, tenants: impl IntoIterator<Item = TenantId>) {
        let mut seen: Vec<TenantId> = Vec::new();
        for tenant in tenants {
            if !seen.contains(&tenant) {
                seen.push(tenant);
                self.inner.answers.appended(tenant);
            }
        }
    }

    /// Appends through PostgreSQL (`Ok` only after its commit) and fills
    /// the cache from the events as committed — no read-back. Batches
    /// larger than [`COMMIT_FILL`] fill on their first read instead. The
    /// tenants' remembered answers are outdated whatever the outcome (an
    /// operational error may hide a commit).
    pub(crate) async fn append_through(
        &self,
        events: Vec<Event<P>>,
        assign_positions: bool,
    ) -> Effect<Vec<EventId>> {
        let tenants: Vec<TenantId> = events.iter().map(|event| event.tenant_id).collect();
        let capture = self.inner.cache.capture();
        let result = self
            .inner
            .pg
            .append_committed(events, assign_positions)
            .await;
        self.appended_to(tenants);
        match result.branch() {
            Ok(committed) => {
                if committed.inserted.len() <= COMMIT_FILL {
                    self.fill(capture, &committed.inserted);
                }
                Effect::Ok(committed.ids)
            }
            Err(effect) => effect,
        }
    }
}
