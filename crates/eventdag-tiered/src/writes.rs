//! The write protocol: PostgreSQL commits first; then the cache is filled
//! from the commit's own answer and the tenants' remembered answers are
//! outdated, before `Ok`.

use eventdag::backend::{stored_events, Appended};
use eventdag::{Effect, Event, EventId, NewEvent, TenantId};
use eventdag_lmdb::codec::encode_event;
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
    /// the cache from the events and payload bytes as committed — no
    /// read-back, no second encoding. Batches that insert more than
    /// [`COMMIT_FILL`] events fill on their first read instead. The
    /// tenants' remembered answers are outdated whatever the outcome (an
    /// operational error may hide a commit).
    pub(crate) async fn append_through(&self, drafts: Vec<NewEvent<P>>) -> Effect<Vec<Event<P>>> {
        let tenants: Vec<TenantId> = drafts.iter().map(|draft| draft.tenant_id).collect();
        let capture = self.inner.cache.capture();
        let result = self.inner.pg.append_sealed(drafts).await;
        self.appended_to(tenants);
        match result.branch() {
            Ok(appended) => {
                let inserted = appended.iter().filter(|a| a.inserted).count();
                if inserted <= COMMIT_FILL {
                    self.inner.cache.fill(capture, &inserted_records(&appended));
                }
                Effect::Ok(stored_events(appended))
            }
            Err(effect) => effect,
        }
    }
}

/// The cache records of the events an append inserted.
fn inserted_records<P>(appended: &[Appended<P>]) -> Vec<(EventId, Vec<u8>)> {
    appended
        .iter()
        .filter(|appended| appended.inserted)
        .map(|appended| {
            let event = &appended.event;
            let record = encode_event(event, &appended.payload_bytes);
            (event.id(), record)
        })
        .collect()
}
