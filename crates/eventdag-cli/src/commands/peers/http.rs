//! EventDag over HTTP: `eventdag serve` on the embedded store, started by
//! the bench as a child process with the default configuration, and a
//! reqwest client with keep-alive connections.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use super::child::{free_loopback_addr, ChildGuard};
use super::peer::Peer;
use super::rows;
use super::workload::{payload, Workload, BATCH};
use super::SystemResult;

/// 429s in a row for one request before the bench gives up on it: the
/// default limit refills within a second, so more means something is
/// wrong, and the loop stays bounded.
const MAX_THROTTLED_RETRIES: u32 = 30;

/// A client of one running server.
struct HttpPeer {
    client: reqwest::Client,
    base: String,
    /// `{"payload": …}`, encoded once: an application encodes its event
    /// once too, and the encoding is not what is measured.
    single: Bytes,
    /// `BATCH` of those as one JSON array.
    batch: Bytes,
    throttled: AtomicU64,
}

impl HttpPeer {
    fn new(base: String) -> anyhow::Result<Self> {
        let body = json!({ "payload": payload() });
        let batch = Value::Array(vec![body.clone(); BATCH]);
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .context("building the HTTP client")?,
            base,
            single: Bytes::from(serde_json::to_vec(&body)?),
            batch: Bytes::from(serde_json::to_vec(&batch)?),
            throttled: AtomicU64::new(0),
        })
    }

    /// Sends the request `build` makes, waiting out and counting 429s as a
    /// well-behaved client would (Retry-After), and insists on `expected`.
    async fn send(
        &self,
        expected: StatusCode,
        build: impl Fn() -> RequestBuilder + Send + Sync,
    ) -> anyhow::Result<Response> {
        for _ in 0..=MAX_THROTTLED_RETRIES {
            let response = build().send().await.context("HTTP request")?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                let seconds = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|text| text.parse::<u64>().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                continue;
            }
            if status != expected {
                let text = response.text().await.unwrap_or_default();
                anyhow::bail!("HTTP {status}: {text}");
            }
            return Ok(response);
        }
        anyhow::bail!("still HTTP 429 after {MAX_THROTTLED_RETRIES} waits")
    }

    fn post_json(&self, path: &str, body: Bytes) -> RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    }
}

#[async_trait]
impl Peer for HttpPeer {
    type Key = Uuid;

    async fn append(&self) -> anyhow::Result<()> {
        let response = self
            .send(StatusCode::CREATED, || {
                self.post_json("/v1/events", self.single.clone())
            })
            .await?;
        // The client reads the stored event it is answered with.
        response.bytes().await?;
        Ok(())
    }

    async fn append_batch(&self, size: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            size == BATCH,
            "the batch body holds {BATCH} events, not {size}"
        );
        let response = self
            .send(StatusCode::CREATED, || {
                self.post_json("/v1/events:batch", self.batch.clone())
            })
            .await?;
        response.bytes().await?;
        Ok(())
    }

    async fn write_chain(&self, length: usize) -> anyhow::Result<Vec<Uuid>> {
        let ids: Vec<Uuid> = (0..length).map(|_| Uuid::now_v7()).collect();
        let bodies: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(index, id)| {
                let parents: Vec<&Uuid> = index
                    .checked_sub(1)
                    .and_then(|parent| ids.get(parent))
                    .into_iter()
                    .collect();
                json!({ "id": id, "parents": parents, "lane": 7, "payload": payload() })
            })
            .collect();
        let body = Bytes::from(serde_json::to_vec(&bodies)?);
        self.send(StatusCode::CREATED, || {
            self.post_json("/v1/events:batch", body.clone())
        })
        .await?
        .bytes()
        .await?;
        Ok(ids)
    }

    async fn read(&self, key: &Uuid) -> anyhow::Result<()> {
        let url = format!("{}/v1/events/{key}", self.base);
        let event: Value = self
            .send(StatusCode::OK, || self.client.get(&url))
            .await?
            .json()
            .await?;
        anyhow::ensure!(event["payload"].is_object(), "no payload in {event}");
        Ok(())
    }

    async fn recent(&self, key: &Uuid, limit: usize) -> anyhow::Result<()> {
        let url = format!("{}/v1/events/{key}/ancestors?limit={limit}", self.base);
        let events: Vec<Value> = self
            .send(StatusCode::OK, || self.client.get(&url))
            .await?
            .json()
            .await?;
        anyhow::ensure!(events.len() == limit, "{} events returned", events.len());
        Ok(())
    }

    fn take_throttled(&self) -> u64 {
        self.throttled.swap(0, Ordering::Relaxed)
    }
}

/// Starts `eventdag serve` (this same program) on a fresh embedded store
/// and a free loopback port, measures it, and kills it.
pub(super) async fn system(workload: &Workload) -> SystemResult {
    let started = async {
        let dir = tempfile::tempdir().context("a temporary directory")?;
        let addr = free_loopback_addr()?;
        let program = std::env::current_exe().context("finding this program")?;
        let mut command = Command::new(program);
        command
            .arg("--data")
            .arg(dir.path().join("store"))
            .arg("serve")
            .env("EVENTDAG_ADDR", addr.to_string())
            // The server must run on its own fresh embedded store.
            .env_remove("EVENTDAG_STORE");
        let mut server = ChildGuard::spawn(command, &dir.path().join("serve.log"))?;
        server
            .wait_until_listening(addr)
            .await
            .context("eventdag serve")?;
        let peer = HttpPeer::new(format!("http://{addr}"))?;
        anyhow::Ok((dir, server, peer))
    };
    match started.await {
        // The server is killed and its directory removed when they drop,
        // after the rows.
        Ok((_dir, _server, peer)) => {
            SystemResult::Measured(rows::run_all(Arc::new(peer), workload).await)
        }
        Err(error) => SystemResult::Unreachable(format!("{error:#}")),
    }
}
