//! NATS JetStream through async-nats: a file-storage stream, publishes
//! that wait for their PubAck, reads by stream sequence (direct get).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, stream::StorageType};
use async_trait::async_trait;
use bytes::Bytes;
use futures::future::try_join_all;
use serde_json::Value;

use super::peer::Peer;
use super::rows;
use super::workload::{payload, Workload};
use super::SystemResult;

/// How long connecting (and each JetStream request) may take before the
/// server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One stream on one server.
struct JetStreamPeer {
    context: jetstream::Context,
    stream: jetstream::stream::Stream,
    subject: String,
    /// The payload's JSON, encoded once (JetStream takes bytes).
    payload: Bytes,
}

impl JetStreamPeer {
    /// Publishes `count` messages without waiting in between, then waits
    /// for every PubAck: JetStream has no multi-message commit (before
    /// 2.12's atomic batches), so this is how a user batches. Returns the
    /// sequences in publish order.
    async fn publish_many(&self, count: usize) -> anyhow::Result<Vec<u64>> {
        let mut acks = Vec::with_capacity(count);
        for _ in 0..count {
            acks.push(
                self.context
                    .publish(self.subject.clone(), self.payload.clone())
                    .await?,
            );
        }
        // Every publish is already in flight; the acks arrive in order.
        let mut sequences = Vec::with_capacity(count);
        for ack in acks {
            sequences.push(ack.await?.sequence);
        }
        Ok(sequences)
    }

    async fn get(&self, sequence: u64) -> anyhow::Result<Value> {
        let message = self.stream.direct_get(sequence).await?;
        Ok(serde_json::from_slice(&message.payload)?)
    }
}

#[async_trait]
impl Peer for JetStreamPeer {
    type Key = u64;

    async fn append(&self) -> anyhow::Result<()> {
        self.context
            .publish(self.subject.clone(), self.payload.clone())
            .await?
            .await?;
        Ok(())
    }

    async fn append_batch(&self, size: usize) -> anyhow::Result<()> {
        self.publish_many(size).await.map(|_| ())
    }

    async fn write_chain(&self, length: usize) -> anyhow::Result<Vec<u64>> {
        // A stream is one total order: the chain is `length` consecutive
        // messages, each "the parent" of the next by sequence alone.
        let sequences = self.publish_many(length).await?;
        anyhow::ensure!(
            sequences.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "the chain's sequences are not consecutive"
        );
        Ok(sequences)
    }

    async fn read(&self, key: &u64) -> anyhow::Result<()> {
        self.get(*key).await.map(|_| ())
    }

    async fn recent(&self, key: &u64, limit: usize) -> anyhow::Result<()> {
        // No parent links: the 100 most recent are the sequences up to
        // this one, fetched by 100 direct gets in flight at once (one
        // connection, pipelined), newest first.
        let first = key.saturating_sub(u64::try_from(limit)?.saturating_sub(1));
        let reads = (first..=*key).rev().map(|sequence| self.get(sequence));
        let events = try_join_all(reads).await?;
        anyhow::ensure!(events.len() == limit, "{} messages read", events.len());
        Ok(())
    }
}

/// Measures JetStream at `url` on a fresh file stream, deleted afterwards.
pub(super) async fn system(url: &str, tag: &str, workload: &Workload) -> SystemResult {
    let connected = async {
        let client = tokio::time::timeout(
            CONNECT_TIMEOUT,
            async_nats::ConnectOptions::new()
                .connection_timeout(CONNECT_TIMEOUT)
                .request_timeout(Some(Duration::from_secs(30)))
                .connect(url),
        )
        .await
        .context("connecting timed out")?
        .with_context(|| format!("connecting to {url}"))?;
        let context = jetstream::new(client);
        let name = format!(
            "EVENTDAG_PEERS_{}_{tag}_{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        let subject = format!("eventdag-peers.{name}");
        let stream = context
            .create_stream(jetstream::stream::Config {
                name: name.clone(),
                subjects: vec![subject.clone()],
                storage: StorageType::File,
                allow_direct: true,
                ..Default::default()
            })
            .await
            .context("creating a file stream (is JetStream enabled?)")?;
        anyhow::Ok(JetStreamPeer {
            context,
            stream,
            subject,
            payload: Bytes::from(serde_json::to_vec(&payload())?),
        })
    };
    match connected.await {
        Ok(peer) => {
            let peer = Arc::new(peer);
            let results = rows::run_all(Arc::clone(&peer), workload).await;
            let name = peer.stream.cached_info().config.name.clone();
            if let Err(error) = peer.context.delete_stream(&name).await {
                eprintln!("warning: could not delete JetStream stream {name}: {error}");
            }
            SystemResult::Measured(results)
        }
        Err(error) => SystemResult::Unreachable(format!("{error:#}")),
    }
}
