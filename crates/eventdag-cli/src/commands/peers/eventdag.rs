//! EventDag through the library, on any store: the embedded LMDB store and
//! PostgreSQL run the same calls.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use eventdag::prelude::*;
use eventdag_lmdb::LmdbDag;
use eventdag_postgres::PgDag;
use serde_json::Value;
use uuid::Uuid;

use super::peer::Peer;
use super::rows::{self, RowResult};
use super::workload::{payload, Workload};
use super::SystemResult;

/// The lane of the read chain, apart from the appended roots on lane 0.
const CHAIN_LANE: u32 = 7;

/// EventDag as a user's program calls it: `append_new` with the position
/// assigned inside the store's write transaction (concurrent appenders
/// never conflict; on LMDB they share group commits).
pub(super) struct EventDagPeer<S> {
    store: S,
    payload: Value,
}

impl<S> EventDagPeer<S> {
    /// A peer over `store`.
    pub(super) fn new(store: S) -> Self {
        Self {
            store,
            payload: payload(),
        }
    }
}

#[async_trait]
impl<S> Peer for EventDagPeer<S>
where
    S: DagStore<Payload = Value> + 'static,
{
    type Key = EventId;

    async fn append(&self) -> anyhow::Result<()> {
        self.store
            .append_new(NewEvent::new(self.payload.clone()))
            .await
            .into_result()?;
        Ok(())
    }

    async fn append_as(&self, appender: usize) -> anyhow::Result<()> {
        let tenant = Uuid::from_u128(0xbe4c_0000_0000_4000_8000_0000_0000_0000 + appender as u128);
        self.store
            .append_new(NewEvent::new(self.payload.clone()).tenant(tenant))
            .await
            .into_result()?;
        Ok(())
    }

    async fn append_batch(&self, size: usize) -> anyhow::Result<()> {
        let drafts = (0..size)
            .map(|_| NewEvent::new(self.payload.clone()))
            .collect();
        self.store.append_new_batch(drafts).await.into_result()?;
        Ok(())
    }

    async fn write_chain(&self, length: usize) -> anyhow::Result<Vec<EventId>> {
        // Client-chosen ids let each draft name the one before it inside
        // the one batch.
        let ids: Vec<EventId> = (0..length).map(|_| Uuid::now_v7()).collect();
        let drafts = ids
            .iter()
            .enumerate()
            .map(|(index, id)| {
                let draft = NewEvent::new(self.payload.clone()).id(*id).lane(CHAIN_LANE);
                match index.checked_sub(1).and_then(|parent| ids.get(parent)) {
                    Some(parent) => draft.parents([*parent]),
                    None => draft,
                }
            })
            .collect();
        self.store.append_new_batch(drafts).await.into_result()?;
        Ok(ids)
    }

    async fn read(&self, key: &EventId) -> anyhow::Result<()> {
        self.store.read(*key).await.into_result()?;
        Ok(())
    }

    async fn recent(&self, key: &EventId, limit: usize) -> anyhow::Result<()> {
        let walked = self.store.walk_ancestors(*key, limit).await.into_result()?;
        anyhow::ensure!(
            walked.len() == limit,
            "walk returned {} events",
            walked.len()
        );
        Ok(())
    }
}

/// EventDag on its embedded store in a fresh temporary directory.
pub(super) async fn embedded(workload: &Workload) -> SystemResult {
    let opened = tempfile::tempdir()
        .context("a temporary directory")
        .and_then(|dir| {
            let store = LmdbDag::<Value>::open(dir.path().join("store"))
                .context("opening the embedded store")?;
            Ok((dir, store))
        });
    match opened {
        // The directory lives until the rows are done, then goes.
        Ok((_dir, store)) => SystemResult::Measured(
            rows::run_all(Arc::new(EventDagPeer::new(store)), workload).await,
        ),
        Err(error) => SystemResult::Unreachable(format!("{error:#}")),
    }
}

/// EventDag on PostgreSQL, in the scratch database at `url`.
pub(super) async fn postgres(url: &str, workload: &Workload) -> SystemResult {
    match PgDag::<Value>::connect(url).await {
        Ok(store) => {
            let peer = Arc::new(EventDagPeer::new(store));
            let results: Vec<RowResult> = rows::run_all(Arc::clone(&peer), workload).await;
            peer.store.close().await;
            SystemResult::Measured(results)
        }
        Err(error) => SystemResult::Unreachable(format!("PgDag::connect: {error}")),
    }
}
