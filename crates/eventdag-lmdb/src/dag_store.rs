//! `DagStore` (the native extras every backend provides) for `LmdbDag`.

use async_trait::async_trait;
use eventdag::backend::{capped, PreparedBatch, StoredRecord};
use eventdag::{
    now_micros, ChainState, CursorEvent, DagPosition, DagStore, Effect, ErrorEffect, Event,
    EventId, NewEvent, SignalRecord, TenantId, MAX_CHAIN_EVENTS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::fail::Fail;
use crate::keys::{self, uuid_at};
use crate::read;
use crate::LmdbDag;

impl<P> LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// One batch through the writer thread. Encoding and the checks that
    /// need no storage run on the caller's task; the writer thread only
    /// does what needs the transaction.
    pub(crate) async fn append_drafts(&self, drafts: Vec<NewEvent<P>>) -> Effect<Vec<Event<P>>> {
        match PreparedBatch::new(drafts, self.shared.options.limits, now_micros()) {
            Ok(batch) => self.writer.append(batch).await,
            Err(error) => Effect::Err(error),
        }
    }
}

#[async_trait]
impl<P> DagStore for LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// The writer thread assigns positions inside its write transaction,
    /// so concurrent appends to one lane never conflict and share one
    /// group commit.
    async fn append_events(&self, drafts: Vec<NewEvent<P>>) -> Effect<Vec<Event<P>>> {
        self.append_drafts(drafts).await
    }

    async fn next_position_for_tenant(
        &self,
        tenant_id: TenantId,
        parent: Option<EventId>,
        lane: u32,
    ) -> Effect<DagPosition> {
        self.read_now("next_position", |txn, dbs| {
            let depth = match parent {
                None => 0,
                Some(parent) => match read::view(txn, dbs, &parent)? {
                    Some(view) if view.tenant_id() == tenant_id => view.header().position.depth + 1,
                    _ => return Err(ErrorEffect::NotFound { event_id: parent }.into()),
                },
            };
            Ok(DagPosition::new(
                depth,
                lane,
                read::next_free(txn, dbs, &tenant_id, lane)?,
            ))
        })
        .await
    }

    async fn unacknowledged_for_tenant(
        &self,
        tenant_id: TenantId,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        let limit = capped(limit);
        self.read_blocking("unacknowledged", move |txn, dbs| {
            let ids = read::ids_with_prefix(txn, &dbs.tenant_unacked, tenant_id.as_bytes(), limit)?;
            read::events(txn, dbs, &ids)
        })
        .await
    }

    async fn signals_of(&self, event_id: EventId, limit: usize) -> Effect<Vec<SignalRecord>> {
        let limit = capped(limit);
        self.read_blocking("signals_of", move |txn, dbs| {
            read::signals_of(txn, dbs, &event_id, limit)
        })
        .await
    }

    async fn signals_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<SignalRecord>> {
        let limit = capped(limit);
        self.read_blocking("signals_after", move |txn, dbs| {
            read::log_after(
                txn,
                &dbs.signals,
                &tenant_id,
                after,
                limit,
                |sequence, bytes| {
                    serde_json::from_slice(bytes).map_err(|err| {
                        Fail::Refused(ErrorEffect::corrupt(
                            None,
                            format!(
                                "signal {sequence} of tenant {tenant_id} does not decode: {err}"
                            ),
                        ))
                    })
                },
            )
        })
        .await
    }

    async fn events_after(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Effect<Vec<CursorEvent<P>>> {
        let limit = capped(limit);
        self.read_blocking("events_after", move |txn, dbs| {
            let entries = read::log_after(
                txn,
                &dbs.commit_log,
                &tenant_id,
                after,
                limit,
                |cursor, value| {
                    uuid_at(value, 0).map(|id| (cursor, id)).ok_or_else(|| {
                        Fail::Refused(ErrorEffect::corrupt(
                            None,
                            format!("commit log entry {cursor} of tenant {tenant_id} is not an id"),
                        ))
                    })
                },
            )?;
            let ids: Vec<EventId> = entries.iter().map(|(_, id)| *id).collect();
            let events = read::events(txn, dbs, &ids)?;
            Ok(entries
                .into_iter()
                .zip(events)
                .map(|((cursor, _), event)| CursorEvent { cursor, event })
                .collect())
        })
        .await
    }

    async fn chain_state(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<ChainState> {
        self.read_now("chain_state", |txn, dbs| {
            read::chain_state(txn, dbs, &tenant_id, &correlation_id)
        })
        .await
    }

    async fn check_health(&self) -> Effect<()> {
        self.read_now("check_health", |txn, dbs| {
            dbs.meta.get(txn, b"format_version")?;
            Ok(())
        })
        .await
    }

    async fn stored_record(&self, event_id: EventId) -> Effect<StoredRecord> {
        self.read_now("stored_record", |txn, dbs| {
            read::record_of(&read::require(txn, dbs, &event_id)?)
        })
        .await
    }

    async fn chain_records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<StoredRecord>> {
        self.read_blocking("chain_records", move |txn, dbs| {
            let prefix = keys::correlation_prefix(&tenant_id, &correlation_id).done();
            let ids = read::ids_with_prefix(txn, &dbs.correlation, &prefix, MAX_CHAIN_EVENTS)?;
            ids.iter()
                .map(|id| read::record_of(&read::require(txn, dbs, id)?))
                .collect()
        })
        .await
    }
}
