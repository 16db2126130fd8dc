//! Live streams through `RemoteDag`: a server restarted while a stream is
//! open loses nothing and doubles nothing, for events and for signals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::server::Server;
use eventdag::{
    DagStore, ErrorEffect, EventDag, EventDagExt, EventId, NewEvent, RawJson, UpstreamSignal,
    DEFAULT_TENANT,
};
use eventdag_client::{EventFilter, LiveStream, RemoteDag, SignalFilter};
use eventdag_lmdb::{LmdbDag, LmdbOptions};
use futures::StreamExt;
use serde_json::{json, Value};

fn open(dir: &std::path::Path) -> Arc<LmdbDag<RawJson>> {
    Arc::new(LmdbOptions::default().map_size(8 << 20).open(dir).unwrap())
}

/// The next `Ok` item within 10 s (failures while the server is away are
/// reported as `Err` items and skipped here).
async fn next_ok<T>(stream: &mut LiveStream<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                Some(Ok(item)) => return item,
                Some(Err(error)) => assert!(error.is_operational(), "{error:?}"),
                None => panic!("the stream ended"),
            }
        }
    })
    .await
    .expect("an item within 10 s")
}

/// Nothing more arrives (a doubled item would).
async fn assert_quiet<T: std::fmt::Debug>(stream: &mut LiveStream<T>) {
    let extra = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            if let Some(Ok(item)) = stream.next().await {
                return item;
            }
        }
    })
    .await;
    assert!(extra.is_err(), "unexpected item {extra:?}");
}

/// Appends roots `{"n": from..}` through any store: the client (with
/// `Value` payloads) or the server's own store (`RawJson`).
async fn append_roots<D>(dag: &D, from: u64, count: u64) -> Vec<EventId>
where
    D: DagStore,
    D::Payload: From<Value> + serde::Serialize,
{
    let mut ids = Vec::new();
    for n in from..from + count {
        let draft = NewEvent::new(D::Payload::from(json!({ "n": n }))).tenant(DEFAULT_TENANT);
        ids.push(dag.append_new(draft).await.ok().unwrap().id());
    }
    ids
}

/// The server stops (its store closed) while the stream is open, events
/// are appended while it is away, and a new server on the same port and
/// data directory comes up: the stream reconnects with `Last-Event-ID`
/// and yields every event once, in commit order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_survives_a_server_restart_without_loss_or_doubles() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let server = Server::start(Arc::clone(&store), "127.0.0.1:0".parse().unwrap()).await;
    let addr: SocketAddr = server.addr;
    let dag: RemoteDag<Value> = RemoteDag::connect(&server.url(), None).unwrap();
    let mut stream = dag.event_stream(EventFilter {
        after: Some(0),
        ..EventFilter::default()
    });

    let mut expected = append_roots(&dag, 0, 5).await;
    let mut seen = Vec::new();
    let mut cursors = Vec::new();
    for _ in 0..5 {
        let item = next_ok(&mut stream).await;
        cursors.push(item.cursor);
        seen.push(item.event.id());
    }

    server.stop().await;
    drop(store);
    let store = open(dir.path());
    expected.extend(append_roots(&*store, 5, 5).await);
    let server = Server::start(Arc::clone(&store), addr).await;
    expected.extend(append_roots(&dag, 10, 5).await);

    for _ in 0..10 {
        let item = next_ok(&mut stream).await;
        cursors.push(item.cursor);
        seen.push(item.event.id());
    }
    assert_eq!(seen, expected, "every event once, in commit order");
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "{cursors:?}"
    );
    assert_quiet(&mut stream).await;
    server.stop().await;
}

/// The same for signals, following one event's signals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_stream_survives_a_server_restart_without_loss_or_doubles() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let server = Server::start(Arc::clone(&store), "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.addr;
    let dag: RemoteDag<Value> = RemoteDag::connect(&server.url(), None).unwrap();
    let root = dag
        .append_root(DEFAULT_TENANT, eventdag::EventKind::DATA, json!(1))
        .await
        .ok()
        .unwrap();
    let leaf = dag
        .append_child(root.id(), eventdag::EventKind::DATA, json!(2))
        .await
        .ok()
        .unwrap();
    let mut stream = dag.signal_stream(SignalFilter {
        event_id: Some(root.id()),
        after: Some(0),
        ..SignalFilter::default()
    });
    let error = |code: u32| UpstreamSignal::ErrorPropagation {
        source_event_id: leaf.id(),
        error_code: code,
        message: format!("failure {code}"),
    };
    dag.signal_upstream(leaf.id(), error(1)).await.ok().unwrap();
    assert_eq!(next_ok(&mut stream).await.signal, error(1));

    server.stop().await;
    drop(store);
    let store = open(dir.path());
    store
        .signal_upstream(leaf.id(), error(2))
        .await
        .ok()
        .unwrap();
    let server = Server::start(Arc::clone(&store), addr).await;
    dag.signal_upstream(leaf.id(), error(3)).await.ok().unwrap();

    let second = next_ok(&mut stream).await;
    let third = next_ok(&mut stream).await;
    assert_eq!((second.signal, third.signal), (error(2), error(3)));
    assert!(second.delivered_to.contains(&root.id()));
    assert_quiet(&mut stream).await;
    server.stop().await;
}

/// A stream the server refuses (an unknown event to follow) reports the
/// store's error once and ends, instead of retrying forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_stream_reports_why_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(open(dir.path()), "127.0.0.1:0".parse().unwrap()).await;
    let dag: RemoteDag<Value> = RemoteDag::connect(&server.url(), None).unwrap();
    let missing = uuid::Uuid::now_v7();
    let mut stream = dag.signal_stream(SignalFilter {
        event_id: Some(missing),
        ..SignalFilter::default()
    });
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert_eq!(
        first.unwrap().unwrap_err(),
        ErrorEffect::NotFound { event_id: missing }
    );
    assert!(tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .is_none());
    server.stop().await;
}
