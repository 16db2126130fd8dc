//! The real server on a loopback port: requests over TCP, a live stream,
//! graceful shutdown, and the refusal of a non-loopback address without
//! API keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use eventdag::MemoryDag;
use eventdag::RawJson;
use eventdag_server::{serve, serve_listener, AppState, ServeError, ServerConfig};
use futures::StreamExt;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_port_zero_and_shuts_down_gracefully() {
    let store = Arc::new(MemoryDag::<RawJson>::new());
    let state = AppState::new(Arc::clone(&store), common::test_config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(state, listener, async {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    let created = client
        .post(format!("{base}/v1/events"))
        .json(&json!({"payload": {"over": "tcp"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let event: Value = created.json().await.unwrap();
    let id = event["id"].as_str().unwrap().to_owned();
    let read: Value = client
        .get(format!("{base}/v1/events/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, event);

    // A live stream is open when the shutdown comes: it must end, not
    // hold the server forever.
    let stream = client
        .get(format!("{base}/v1/streams/events?after=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains(&id));

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops within 10 s")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(rest.is_ok(), "the stream ended with the server");
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn refuses_non_loopback_without_keys() {
    let store = Arc::new(MemoryDag::<RawJson>::new());
    let config = ServerConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let error = serve(AppState::new(store, config)).await.unwrap_err();
    assert!(
        matches!(error, ServeError::InsecureAddress { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("no API keys"), "{error}");
}

/// The background task runs every tenant's policy every
/// `retention_interval`, writes what it removes to the archive directory
/// first (one JSON-lines file per tenant per run), and counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_retention_archives_then_removes_old_chains() {
    use eventdag::{EventDag, EventDagExt, Forgetting, NewEvent, RetentionPolicy, RetentionRule};
    let store = Arc::new(MemoryDag::<RawJson>::new());
    let archive = tempfile::tempdir().unwrap();
    let old = store
        .append_new(
            NewEvent::new(RawJson::from_text(r#"{"old":1}"#).unwrap())
                .timestamp(eventdag::now_micros() - 3_600_000_000),
        )
        .await
        .into_result()
        .unwrap();
    let young = store
        .append_new(NewEvent::new(RawJson::from_text(r#"{"young":1}"#).unwrap()))
        .await
        .into_result()
        .unwrap();
    let policy = RetentionPolicy {
        rules: vec![RetentionRule {
            kind: None,
            max_age_seconds: 60,
        }],
    };
    store
        .set_retention_policy(eventdag::DEFAULT_TENANT, Some(policy))
        .await
        .into_result()
        .unwrap();
    let config = ServerConfig {
        retention_interval: Duration::from_millis(100),
        retention_archive_dir: Some(archive.path().to_path_buf()),
        ..common::test_config()
    };
    let state = AppState::new(Arc::clone(&store), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_listener(state, listener, async {
        let _ = stopped.await;
    }));
    let mut removed = false;
    for _ in 0..100 {
        if store.read(old.id()).await.into_result().is_err() {
            removed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(removed, "the old chain was removed in the background");
    assert!(store.read(young.id()).await.into_result().is_ok());
    let files: Vec<_> = std::fs::read_dir(archive.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("{}-", eventdag::DEFAULT_TENANT)),
        "{name}"
    );
    let lines = std::fs::read_to_string(&files[0]).unwrap();
    let archived: Vec<Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["id"], json!(old.id()));
    assert_eq!(archived[0]["payload"], json!({"old": 1}));
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"eventdag_retention_runs_total{outcome="ok",trigger="background"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("eventdag_retention_removed_events_total 1"),
        "{metrics}"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
