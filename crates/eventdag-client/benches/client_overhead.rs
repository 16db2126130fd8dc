//! `RemoteDag` against plain `reqwest` on the same routes, in the same
//! run, against one in-process server on the embedded LMDB store: read by
//! id, ancestors of 100, and append (durable, a fresh id each time). Both
//! sides decode the answer into the same type (`Event<Value>`), so the
//! difference is the client's own work: URLs, headers, the retry loop and
//! the error mapping.
//!
//! The two sides alternate in rounds (A, B, A, B, …) and the medians of
//! the rounds are compared, so that drift on a shared machine (another
//! build starting) weighs on both alike. Prints a Markdown table.
//!
//! `cargo bench -p eventdag-client --bench client_overhead`
//! (`EVENTDAG_BENCH_ROUNDS`, default 15; `EVENTDAG_BENCH_CALLS`, calls per
//! round, default 200).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss
)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eventdag::{Event, EventDag, EventDagExt, EventId, NewEvent};
use eventdag_client::RemoteDag;
use eventdag_lmdb::LmdbDag;
use eventdag_server::{AppState, ServerConfig};
use serde_json::{json, Value};

struct Fixture {
    url: String,
    dag: RemoteDag<Value>,
    http: reqwest::Client,
    one: EventId,
    tip: EventId,
}

async fn fixture(dir: &std::path::Path) -> Fixture {
    let store = Arc::new(LmdbDag::<eventdag::RawJson>::open(dir).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = ServerConfig {
        rate_limit_per_second: 0,
        ..ServerConfig::default()
    };
    tokio::spawn(eventdag_server::serve_listener(
        AppState::new(store, config),
        listener,
        std::future::pending(),
    ));
    let dag: RemoteDag<Value> = RemoteDag::connect(&url, None).unwrap();
    let mut last = dag
        .append_new(NewEvent::new(json!({"n": 0})))
        .await
        .ok()
        .unwrap();
    let one = last.id();
    for n in 1..100 {
        last = dag
            .append_new(NewEvent::new(json!({ "n": n })).parents([last.id()]))
            .await
            .ok()
            .unwrap();
    }
    Fixture {
        url,
        dag,
        http: reqwest::Client::builder()
            .tcp_nodelay(true)
            .build()
            .unwrap(),
        one,
        tip: last.id(),
    }
}

/// Mean time per call of `calls` sequential calls.
async fn round<F: Future>(calls: u32, mut call: impl FnMut() -> F) -> Duration {
    let started = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(call().await);
    }
    started.elapsed() / calls
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

async fn compare<A, FA, B, FB>(name: &str, rounds: u32, calls: u32, mut remote: A, mut plain: B)
where
    A: FnMut() -> FA,
    FA: Future,
    B: FnMut() -> FB,
    FB: Future,
{
    // Warm both paths (connections, caches) before measuring.
    round(calls / 4 + 1, &mut remote).await;
    round(calls / 4 + 1, &mut plain).await;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(round(calls, &mut remote).await);
        b.push(round(calls, &mut plain).await);
    }
    let (a, b) = (median(a), median(b));
    let overhead = (a.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0;
    println!(
        "| {name} | {} | {} | {overhead:+.1} % |",
        micros(a),
        micros(b)
    );
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this
    // once, small, as a smoke test.
    let smoke = !std::env::args().any(|arg| arg == "--bench");
    let rounds = if smoke {
        1
    } else {
        env_number("EVENTDAG_BENCH_ROUNDS", 15)
    };
    let calls = if smoke {
        5
    } else {
        env_number("EVENTDAG_BENCH_CALLS", 200)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let f = fixture(dir.path()).await;
        let read_url = format!("{}/v1/events/{}", f.url, f.one);
        let walk_url = format!("{}/v1/events/{}/ancestors?limit=100", f.url, f.tip);
        let append_url = format!("{}/v1/events", f.url);
        println!("{rounds} rounds of {calls} calls each, medians of the rounds");
        println!();
        println!("| call | RemoteDag | plain reqwest | client overhead |");
        println!("|---|---:|---:|---:|");
        compare(
            "read by id",
            rounds,
            calls,
            || async { f.dag.read(f.one).await.ok().unwrap() },
            || async {
                let bytes = f
                    .http
                    .get(&read_url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                serde_json::from_slice::<Event<Value>>(&bytes).unwrap()
            },
        )
        .await;
        compare(
            "ancestors, limit 100",
            rounds,
            calls / 4 + 1,
            || async {
                let events = f.dag.walk_ancestors(f.tip, 100).await.ok().unwrap();
                assert_eq!(events.len(), 100);
                events
            },
            || async {
                let bytes = f
                    .http
                    .get(&walk_url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let events = serde_json::from_slice::<Vec<Event<Value>>>(&bytes).unwrap();
                assert_eq!(events.len(), 100);
                events
            },
        )
        .await;
        compare(
            "append (durable, root, client-chosen id)",
            rounds,
            calls / 4 + 1,
            || async {
                f.dag
                    .append_new(NewEvent::new(json!({"k": "v"})))
                    .await
                    .ok()
                    .unwrap()
            },
            || async {
                let body = json!({"payload": {"k": "v"}, "id": uuid::Uuid::now_v7()});
                let bytes = f
                    .http
                    .post(&append_url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                serde_json::from_slice::<Event<Value>>(&bytes).unwrap()
            },
        )
        .await;
    });
}
