//! Bounded loopback load test: requests/s and p50/p99 latency of append,
//! read by id and an ancestors walk over HTTP, against the same operations
//! through the library directly (the ratio is the HTTP overhead).
//!
//! ```text
//! cargo run --release -p eventdag-server --example loadtest -- [SECONDS] [CONNECTIONS] [STORE]
//! ```
//! Each phase runs for SECONDS (default 5) with CONNECTIONS concurrent
//! clients (default 32), then stops by itself. STORE is `memory` (default)
//! or `lmdb:DIR` (a fresh or existing LMDB directory). The server listens on
//! 127.0.0.1 on a free port in the same process; no other address is used.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use eventdag::RawJson;
use eventdag::{EventDagExt, EventId, MemoryDag, NewEvent};
use eventdag_lmdb::LmdbDag;
use eventdag_server::{serve_listener, AppState, ServerConfig, ServerStore};
use serde_json::json;

/// Depth of the chain the ancestors walk runs over.
const CHAIN: usize = 200;
/// `limit` of the ancestors walk.
const WALK_LIMIT: usize = 100;

struct Figures {
    requests: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0} | {:.0} | {:.0} |",
            self.requests as f64 / self.seconds,
            self.p50.as_secs_f64() * 1e6,
            self.p99.as_secs_f64() * 1e6
        )
    }
}

/// Runs `op` from `clients` tasks for `duration`; `op(client, n)`.
async fn phase<F, Fut>(clients: usize, duration: Duration, op: F) -> Result<Figures>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let op = Arc::clone(&op);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                let at = Instant::now();
                op(client, n).await?;
                latencies.push(at.elapsed());
                n += 1;
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_unstable();
    // Percentile in per mille, by integer arithmetic.
    let at = |per_mille: usize| {
        all.get((all.len() * per_mille / 1000).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Figures {
        requests: all.len(),
        seconds,
        p50: at(500),
        p99: at(990),
    })
}

async fn seed<S: ServerStore>(store: &S) -> Result<(Vec<EventId>, EventId)> {
    let mut ids = Vec::new();
    let mut parent: Option<EventId> = None;
    for n in 0..CHAIN {
        let mut draft = NewEvent::new(json!({"n": n, "text": "seed event"}).into());
        if let Some(parent) = parent {
            draft = draft.parents([parent]);
        }
        let event = store
            .append_new(draft)
            .await
            .ok()
            .context("seeding the chain")?;
        parent = Some(event.id());
        ids.push(event.id());
    }
    let tip = parent.context("empty chain")?;
    Ok((ids, tip))
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let clients: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(32);
    let store = args.next().unwrap_or_else(|| "memory".to_owned());
    match store.strip_prefix("lmdb:") {
        Some(dir) => {
            let dag = LmdbDag::<RawJson>::open(dir).with_context(|| format!("opening {dir}"))?;
            run(Arc::new(dag), "LmdbDag", seconds, clients).await
        }
        None if store == "memory" => {
            run(
                Arc::new(MemoryDag::<RawJson>::new()),
                "MemoryDag",
                seconds,
                clients,
            )
            .await
        }
        None => anyhow::bail!("unknown store {store:?}: accepted memory or lmdb:DIR"),
    }
}

async fn run<S: ServerStore>(
    store: Arc<S>,
    name: &str,
    seconds: u64,
    clients: usize,
) -> Result<()> {
    let duration = Duration::from_secs(seconds);
    let (ids, tip) = seed(store.as_ref()).await?;
    let ids = Arc::new(ids);
    let config = ServerConfig {
        rate_limit_per_second: 0,
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(
        AppState::new(Arc::clone(&store), config),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;

    println!("{clients} concurrent clients, {seconds} s per phase, {name}, loopback\n");
    println!("| operation | requests/s | p50 µs | p99 µs |");
    println!("|---|---|---|---|");

    let (client, url) = (http.clone(), format!("{base}/v1/events"));
    let figures = phase(clients, duration, move |c, n| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let response = client
                .post(&url)
                .json(&json!({"payload": {"client": c, "n": n}}))
                .send()
                .await?;
            anyhow::ensure!(response.status() == 201, "append: {}", response.status());
            response.bytes().await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", figures.row("HTTP append"));

    let (client, base_read, read_ids) = (http.clone(), base.clone(), Arc::clone(&ids));
    let figures = phase(clients, duration, move |c, n| {
        let url = format!(
            "{base_read}/v1/events/{}",
            read_ids[(c * 7 + n) % read_ids.len()]
        );
        let client = client.clone();
        async move {
            let response = client.get(&url).send().await?;
            anyhow::ensure!(response.status() == 200, "read: {}", response.status());
            response.bytes().await?;
            Ok(())
        }
    })
    .await?;
    println!("{}", figures.row("HTTP read by id"));

    let (client, url) = (
        http.clone(),
        format!("{base}/v1/events/{tip}/ancestors?limit={WALK_LIMIT}"),
    );
    let figures = phase(clients, duration, move |_, _| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let response = client.get(&url).send().await?;
            anyhow::ensure!(response.status() == 200, "walk: {}", response.status());
            response.bytes().await?;
            Ok(())
        }
    })
    .await?;
    println!(
        "{}",
        figures.row(&format!("HTTP ancestors (limit {WALK_LIMIT})"))
    );

    // As the server does: `append_new` lets the store assign the position
    // inside its write transaction, so concurrent appends share commits.
    let direct = Arc::clone(&store);
    let figures = phase(clients, duration, move |c, n| {
        let store = Arc::clone(&direct);
        async move {
            store
                .append_new(NewEvent::new(json!({"client": c, "n": n}).into()))
                .await
                .ok()
                .context("append")?;
            Ok(())
        }
    })
    .await?;
    println!("{}", figures.row("library append"));

    let (direct, read_ids) = (Arc::clone(&store), Arc::clone(&ids));
    let figures = phase(clients, duration, move |c, n| {
        let store = Arc::clone(&direct);
        let id = read_ids[(c * 7 + n) % read_ids.len()];
        async move {
            store.read(id).await.ok().context("read")?;
            Ok(())
        }
    })
    .await?;
    println!("{}", figures.row("library read by id"));

    let direct = Arc::clone(&store);
    let figures = phase(clients, duration, move |_, _| {
        let store = Arc::clone(&direct);
        async move {
            store
                .walk_ancestors(tip, WALK_LIMIT)
                .await
                .ok()
                .context("walk")?;
            Ok(())
        }
    })
    .await?;
    println!(
        "{}",
        figures.row(&format!("library ancestors (limit {WALK_LIMIT})"))
    );

    let _ = stop.send(());
    server.await??;
    Ok(())
}
