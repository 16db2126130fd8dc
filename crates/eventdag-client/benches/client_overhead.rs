//! `RemoteDag` against plain `reqwest` on the same routes, in the same
//! run, against one in-process server on the embedded LMDB store: read
//! by id, ancestors of 100, append. Both sides decode the answer into the
//! same type (`Event<Value>`), so the difference is the client's own
//! work: URLs, headers, the retry loop and the error mapping.
//!
//! `cargo bench -p eventdag-client --bench client_overhead`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
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
    _dir: tempfile::TempDir,
}

fn fixture(runtime: &tokio::runtime::Runtime) -> Fixture {
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LmdbDag::<Value>::open(dir.path()).unwrap());
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
        for n in 1..=100 {
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
            _dir: dir,
        }
    })
}

fn overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let f = fixture(&runtime);
    let mut group = c.benchmark_group("client_overhead");
    group
        .sample_size(40)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    group.bench_function("read/RemoteDag", |b| {
        b.to_async(&runtime)
            .iter(|| async { f.dag.read(f.one).await.ok().unwrap() });
    });
    let read_url = format!("{}/v1/events/{}", f.url, f.one);
    group.bench_function("read/reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
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
        });
    });

    group.bench_function("ancestors_100/RemoteDag", |b| {
        b.to_async(&runtime).iter(|| async {
            let events = f.dag.walk_ancestors(f.tip, 100).await.ok().unwrap();
            assert_eq!(events.len(), 100);
            events
        });
    });
    let walk_url = format!("{}/v1/events/{}/ancestors?limit=100", f.url, f.tip);
    group.bench_function("ancestors_100/reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
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
        });
    });

    // Roots, each with a fresh client-chosen id on both sides (the
    // client chooses one by default, which makes its retries safe).
    group.bench_function("append/RemoteDag", |b| {
        b.to_async(&runtime).iter(|| async {
            f.dag
                .append_new(NewEvent::new(json!({"k": "v"})))
                .await
                .ok()
                .unwrap()
        });
    });
    let append_url = format!("{}/v1/events", f.url);
    group.bench_function("append/reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
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
        });
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
