//! What the client does when the server is away, refuses the key or
//! holds a chain: operational errors in bounded time, retries only where
//! safe, domain errors as the stores return them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{key_for, Server};
use eventdag::{
    now_micros, Effect, ErrorEffect, EventDag, EventDagExt, EventKind, UpstreamSignal,
    DEFAULT_TENANT,
};
use eventdag_client::{RemoteDag, RetryPolicy};
use eventdag_lmdb::{LmdbDag, LmdbOptions};
use serde_json::{json, Value};

fn store(dir: &std::path::Path) -> Arc<LmdbDag<eventdag::RawJson>> {
    Arc::new(LmdbOptions::default().map_size(8 << 20).open(dir).unwrap())
}

/// A port nothing listens on (bound, then released).
async fn dead_port() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

fn retries(max_retries: u32, initial_ms: u64) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(initial_ms),
        max_backoff: Duration::from_secs(1),
    }
}

/// No server: an operational error after the configured retries, not a
/// hang and not a domain error.
#[tokio::test]
async fn an_unreachable_server_is_operational_after_bounded_retries() {
    let addr = dead_port().await;
    let dag: RemoteDag<Value> = RemoteDag::builder(&format!("http://{addr}"))
        .retry(retries(2, 100))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = dag.read(uuid::Uuid::now_v7()).await.err().unwrap();
    let took = started.elapsed();
    assert!(
        matches!(error, ErrorEffect::StorageUnavailable { .. }),
        "{error:?}"
    );
    assert!(error.is_operational());
    // Two waits of at least 50 and 100 ms (the jitter takes up to half).
    assert!(took >= Duration::from_millis(150), "retried: {took:?}");
    assert!(took < Duration::from_secs(5), "bounded: {took:?}");
}

/// A server that comes up while the client retries: reads and appends
/// with ids ride it out; a signal, never sent while the port refused
/// connections, is sent once it listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_ride_out_a_server_that_comes_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let server = Server::start(Arc::clone(&store), "127.0.0.1:0".parse().unwrap()).await;
    let addr = server.addr;
    let dag: RemoteDag<Value> = RemoteDag::builder(&server.url())
        .retry(retries(6, 100))
        .build()
        .unwrap();
    let root = dag
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(1))
        .await
        .ok()
        .unwrap();
    server.stop().await;

    let later = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Server::start(store, addr).await
        })
    };
    let read = dag.read(root.id()).await.ok().unwrap();
    assert_eq!(read, root);
    let child = dag
        .append_child(root.id(), EventKind::DATA, json!(2))
        .await
        .ok()
        .unwrap();
    let until = now_micros() + 1;
    assert!(dag
        .signal_upstream(child.id(), UpstreamSignal::Backpressure { until })
        .await
        .is_ok());
    assert_eq!(
        eventdag::DagStore::signals_of(&*store, root.id(), 10)
            .await
            .ok()
            .unwrap()
            .len(),
        1,
        "the signal was stored once"
    );
    later.await.unwrap().stop().await;
}

/// A wrong key is refused as the caller's fault, naming the key, and is
/// not retried.
#[tokio::test]
async fn a_wrong_key_is_a_domain_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let _key = key_for(&*store, uuid::Uuid::now_v7(), "someone").await;
    let server = Server::start(store, "127.0.0.1:0".parse().unwrap()).await;
    let dag: RemoteDag<Value> = RemoteDag::connect(
        &server.url(),
        Some("edk_aaaaaaaa_0123456789abcdefghijklmnopqrstuv"),
    )
    .unwrap();
    let error = dag.read(uuid::Uuid::now_v7()).await.err().unwrap();
    assert!(
        matches!(&error, ErrorEffect::InvalidInput { field, .. } if field == "api key"),
        "{error:?}"
    );
    assert!(error.is_domain());
    server.stop().await;
}

/// A key serves its own tenant: with `.tenant(…)` set, a call naming
/// another tenant is refused before anything is sent; without it the
/// server answers for the key's tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_decides_the_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let tenant = uuid::Uuid::now_v7();
    let key = key_for(&*store, tenant, "acme").await;
    let server = Server::start(store, "127.0.0.1:0".parse().unwrap()).await;
    let plain: RemoteDag<Value> = RemoteDag::connect(&server.url(), Some(&key)).unwrap();
    let stored = plain
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!("x"))
        .await
        .ok()
        .unwrap();
    assert_eq!(stored.tenant_id, tenant, "stored in the key's tenant");
    let strict: RemoteDag<Value> = RemoteDag::builder(&server.url())
        .api_key(&key)
        .tenant(tenant)
        .build()
        .unwrap();
    let refused = strict
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!("y"))
        .await;
    assert!(
        matches!(refused, Effect::Err(ErrorEffect::InvalidInput { ref field, .. }) if field == "tenant_id"),
        "{refused:?}"
    );
    assert_eq!(
        strict
            .find_correlation_chain(tenant, stored.id())
            .await
            .ok()
            .unwrap(),
        vec![stored]
    );
    server.stop().await;
}

/// A peer that accepts each connection, reads the request and hangs up
/// without answering: the answer to a request that reached a server is
/// lost. Counts the connections.
async fn hang_up_peer() -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            drop(socket);
        }
    });
    (addr, count)
}

/// A lost answer: a read is repeated (then operational), a signal is not
/// (it might have been stored) and reports `OutcomeUnknown` naming the
/// sender.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_repeat_only_what_is_safe_to_repeat() {
    let (addr, connections) = hang_up_peer().await;
    let dag: RemoteDag<Value> = RemoteDag::builder(&format!("http://{addr}"))
        .retry(retries(2, 20))
        .build()
        .unwrap();
    let error = dag.read(uuid::Uuid::now_v7()).await.err().unwrap();
    assert!(error.is_operational(), "{error:?}");
    assert_eq!(
        connections.swap(0, std::sync::atomic::Ordering::SeqCst),
        3,
        "1 + 2 retries"
    );

    let from = uuid::Uuid::now_v7();
    let signal = UpstreamSignal::Backpressure {
        until: now_micros(),
    };
    let error = dag.signal_upstream(from, signal).await.err().unwrap();
    assert!(
        matches!(&error, ErrorEffect::OutcomeUnknown { event_id, .. } if *event_id == from),
        "{error:?}"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "sent once"
    );

    // An append whose events have ids is repeated like a read.
    let error = dag
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(1))
        .await
        .err()
        .unwrap();
    assert!(error.is_operational(), "{error:?}");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1 + 3);
    // Without client-chosen ids it is sent once.
    let once: RemoteDag<Value> = RemoteDag::builder(&format!("http://{addr}"))
        .retry(retries(2, 20))
        .assign_ids(false)
        .build()
        .unwrap();
    let error = once
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(1))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(error, ErrorEffect::OutcomeUnknown { .. }),
        "{error:?}"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1 + 3 + 1
    );
}

/// The server's rate limit is `Effect::Retry` with its `Retry-After`, as
/// backpressure is (the suite checks backpressure's finer `after`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let config = eventdag_server::ServerConfig {
        rate_limit_per_second: 1,
        rate_limit_burst: 1,
        ..common::server::test_config()
    };
    let server =
        Server::start_with(store(dir.path()), "127.0.0.1:0".parse().unwrap(), config).await;
    let dag: RemoteDag<Value> = RemoteDag::connect(&server.url(), None).unwrap();
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(dag.unacknowledged(10).await);
    }
    let retry = answers
        .iter()
        .find(|answer| answer.is_retry())
        .unwrap_or_else(|| panic!("{answers:?}"));
    assert!(
        matches!(retry, Effect::Retry { after, .. } if *after >= Duration::from_secs(1)),
        "{retry:?}"
    );
    server.stop().await;
}

/// Health through `/healthz`, and verification both ways: on the server
/// (`verify_on_server`) and here, hashing what the server sends
/// (`EventDagExt::verify_event`); both find bytes changed behind the
/// server's back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_verification_on_either_side() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let server = Server::start(Arc::clone(&store), "127.0.0.1:0".parse().unwrap()).await;
    let dag: RemoteDag<Value> = RemoteDag::connect(&server.url(), None).unwrap();
    assert!(eventdag::DagStore::check_health(&dag).await.is_ok());
    let root = dag
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!({"a": 1}))
        .await
        .ok()
        .unwrap();
    let child = dag
        .append_child(root.id(), EventKind::DATA, json!([1, 2]))
        .await
        .ok()
        .unwrap();
    assert!(dag
        .verify_on_server(child.id())
        .await
        .ok()
        .unwrap()
        .is_intact());
    assert!(dag.verify_event(child.id()).await.ok().unwrap().is_intact());
    let chain = dag
        .verify_chain(DEFAULT_TENANT, root.id())
        .await
        .ok()
        .unwrap();
    assert_eq!((chain.checked, chain.is_intact()), (2, true));

    assert!(
        store
            .simulate_corruption(root.id(), b"{\"a\":2}".to_vec())
            .await
    );
    for verification in [
        dag.verify_on_server(root.id()).await.ok().unwrap(),
        dag.verify_event(root.id()).await.ok().unwrap(),
        dag.verify_chain(DEFAULT_TENANT, root.id())
            .await
            .ok()
            .unwrap(),
    ] {
        assert_eq!(
            verification.first_mismatch.map(|m| m.event_id),
            Some(root.id())
        );
    }
    server.stop().await;
    let down = eventdag::DagStore::check_health(&dag).await.err().unwrap();
    assert!(down.is_operational(), "{down:?}");
}
