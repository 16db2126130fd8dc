//! Three `eventdag serve` processes on one PostgreSQL database, each a
//! tiered node with its own cache directory, as a user runs them: appends
//! through all three at once into one tenant, one node SIGKILLed
//! mid-load, an acknowledgment and a cancellation through one node seen
//! by another within the staleness bound. Afterwards nothing that was
//! answered `Ok` is missing, no (tenant, lane, sequence) is taken twice,
//! and the survivors still serve.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventdag::{
    DagStore, Effect, ErrorEffect, EventDag, EventDagExt, EventFlags, EventId, NewEvent,
    UpstreamSignal,
};
use eventdag_client::RemoteDag;
use eventdag_postgres::test_support::ScratchDatabase;
use eventdag_postgres::PgDag;
use serde_json::{json, Value};

/// Appends each node's task makes.
const APPENDS_PER_NODE: usize = 60;
/// The tiered default (`TieredOptions::staleness_bound`).
const BOUND: Duration = Duration::from_secs(1);

/// A node; killed when dropped.
struct Node {
    child: Child,
    url: String,
}

impl Node {
    fn start(store: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_eventdag"))
            .args(["--store", store, "serve", "--addr", &addr])
            .env_remove("EVENTDAG_STORE")
            .env_remove("EVENTDAG_DATA")
            .env_remove("EVENTDAG_API_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            url: format!("http://{addr}"),
        }
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        loop {
            let healthy = client
                .get(format!("{}/healthz", self.url))
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            if healthy {
                return;
            }
            assert!(Instant::now() < deadline, "{} never answered", self.url);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn kill(&mut self) {
        // SIGKILL: no shutdown code runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_tenant(database_url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .args(["--store", database_url, "tenant", "create", "acme"])
        .env_remove("EVENTDAG_STORE")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value =
        serde_json::from_str(String::from_utf8(output.stdout).unwrap().trim()).unwrap();
    created["api_key"].as_str().unwrap().to_owned()
}

fn tiered(cache: &Path, database_url: &str) -> String {
    format!("tiered:{},{database_url}", cache.display())
}

/// Polls `check` until it holds; how long that took.
async fn within<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: never seen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_tiered_servers_share_one_database() {
    let database = ScratchDatabase::create().await;
    let key = create_tenant(&database.url());
    let caches: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes: Vec<Node> = caches
        .iter()
        .map(|cache| Node::start(&tiered(cache.path(), &database.url())))
        .collect();
    for node in &nodes {
        node.wait_ready().await;
    }
    let clients: Vec<RemoteDag<Value>> = nodes
        .iter()
        .map(|node| RemoteDag::connect(&node.url, Some(&key)).unwrap())
        .collect();
    let root = clients[0]
        .append_new(NewEvent::new(json!({"job": "root"})))
        .await
        .into_result()
        .unwrap();

    // Load: every node appends under the root at once; node 2 is killed
    // a third of the way through its share.
    let node_2_answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (index, client) in clients.iter().enumerate() {
        let client = client.clone();
        let root = root.id();
        let node_2_answered = Arc::clone(&node_2_answered);
        tasks.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for step in 0..APPENDS_PER_NODE {
                let draft = NewEvent::new(json!({"node": index, "step": step}))
                    .parents([root])
                    .flags(EventFlags::REQUIRES_ACK);
                match client.append_new(draft).await {
                    Effect::Ok(event) => {
                        answered.push(event.id());
                        if index == 2 {
                            node_2_answered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    // Only the killed node may fail.
                    Effect::Err(error) if index == 2 => {
                        assert!(
                            matches!(
                                error,
                                ErrorEffect::StorageUnavailable { .. }
                                    | ErrorEffect::OutcomeUnknown { .. }
                                    | ErrorEffect::Timeout { .. }
                            ),
                            "{error:?}"
                        );
                    }
                    other => panic!("node {index}, step {step}: {other:?}"),
                }
            }
            answered
        }));
    }
    within("a third of node 2's appends", || async {
        node_2_answered.load(Ordering::SeqCst) >= APPENDS_PER_NODE / 3
    })
    .await;
    nodes[2].kill();
    let mut answered = Vec::new();
    for task in tasks {
        answered.push(task.await.unwrap());
    }
    assert_eq!(answered[0].len(), APPENDS_PER_NODE);
    assert_eq!(answered[1].len(), APPENDS_PER_NODE);
    assert!(
        answered[2].len() < APPENDS_PER_NODE,
        "node 2 was killed mid-load ({} of its appends answered)",
        answered[2].len()
    );

    // Nothing answered Ok is missing; no position is taken twice.
    let pg: PgDag<Value> = PgDag::connect(&database.url()).await.unwrap();
    let tenant = root.tenant_id;
    let stored = pg
        .events_after(tenant, 0, 10_000)
        .await
        .into_result()
        .unwrap();
    let ids: HashSet<EventId> = stored.iter().map(|entry| entry.event.id()).collect();
    for id in answered.iter().flatten() {
        assert!(
            ids.contains(id),
            "event {id} was answered Ok but is missing"
        );
    }
    let positions: HashSet<(u32, u32)> = stored
        .iter()
        .map(|entry| {
            let position = entry.event.position();
            (position.lane, position.sequence)
        })
        .collect();
    assert_eq!(
        positions.len(),
        stored.len(),
        "a (tenant, lane, sequence) was taken twice"
    );

    // An acknowledgment through node 0 reaches node 1's cache within the
    // bound (node 1 caches the event first).
    let job = answered[1][0];
    let cached = clients[1].read(job).await.into_result().unwrap();
    assert!(!cached.header.flags.contains(EventFlags::ACKNOWLEDGED));
    clients[0]
        .acknowledge(job, false)
        .await
        .into_result()
        .unwrap();
    let ack_seen = within("the acknowledgment on node 1", || async {
        clients[1]
            .read(job)
            .await
            .into_result()
            .is_ok_and(|event| event.header.flags.contains(EventFlags::ACKNOWLEDGED))
    })
    .await;

    // A cancellation through node 0 refuses appends through node 1.
    clients[0]
        .signal_upstream(
            answered[0][0],
            UpstreamSignal::Cancel {
                correlation_id: root.header.correlation_id,
                reason: "stop".into(),
            },
        )
        .await
        .into_result()
        .unwrap();
    let cancel_seen = within("the cancellation on node 1", || async {
        matches!(
            clients[1]
                .append_new(NewEvent::new(json!("late")).parents([root.id()]))
                .await,
            Effect::Err(ErrorEffect::ChainCancelled { .. })
        )
    })
    .await;
    println!(
        "acknowledgment seen on node 1 after {ack_seen:?}, cancellation after {cancel_seen:?}"
    );
    assert!(ack_seen <= BOUND, "acknowledgment took {ack_seen:?}");
    assert!(cancel_seen <= BOUND, "cancellation took {cancel_seen:?}");

    // The survivors keep serving: a new chain through each.
    for client in &clients[..2] {
        let fresh = client
            .append_new(NewEvent::new(json!("after")))
            .await
            .into_result()
            .unwrap();
        assert_eq!(
            client.read(fresh.id()).await.into_result().unwrap().id(),
            fresh.id()
        );
    }
    drop(nodes);
    pg.close().await;
    drop(database);
}
