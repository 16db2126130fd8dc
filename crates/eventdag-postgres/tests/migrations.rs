//! Migrations applied on connect are safe when several nodes connect to a
//! new database at once, and connecting again changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use eventdag_postgres::{PgDag, PgError, PgOptions};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connects_migrate_once() {
    let guard = common::scratch_database().await;
    let url = guard.url();
    let nodes = (0..6).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            PgDag::<Value>::connect_with(&url, PgOptions::new().max_connections(2)).await
        })
    });
    let mut stores = Vec::new();
    for node in nodes {
        stores.push(node.await.unwrap().expect("every node connects"));
    }
    let (applied,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(stores[0].pool())
        .await
        .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|entry| {
            let path = entry.as_ref().unwrap().path();
            path.extension().is_some_and(|ext| ext == "sql")
        })
        .count();
    let files = i64::try_from(files).unwrap();
    assert!(files >= 2, "the schema and the exact-payload migration");
    assert_eq!(applied, files, "every migration, each applied once");
    let again: PgDag<Value> = PgDag::connect(&url).await.unwrap();
    again.migrate().await.unwrap();
    for store in &stores {
        store.close().await;
    }
    again.close().await;
}

#[tokio::test]
async fn unreachable_server_is_a_connect_error() {
    let options = PgOptions::new().acquire_timeout(std::time::Duration::from_millis(500));
    // Port 1 on loopback: nothing listens there.
    let error = PgDag::<Value>::connect_with("postgres://postgres@127.0.0.1:1/x", options)
        .await
        .unwrap_err();
    assert!(matches!(error, PgError::Connect { .. }), "{error:?}");
    let error = PgDag::<Value>::connect("not a url").await.unwrap_err();
    assert!(matches!(error, PgError::InvalidConfig { .. }), "{error:?}");
}
