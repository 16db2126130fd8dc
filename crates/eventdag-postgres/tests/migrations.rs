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

/// Restores `tests/fixtures/v1-store.sql` (a `pg_dump` of a store written
/// by the previous release: schema at migration 0004, a 4-event chain
/// hashed under version 1) into `guard`'s database with `psql`.
fn restore_v1_fixture(guard: &common::Guard) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1-store.sql");
    let output = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &guard.url(),
            "-f",
            fixture,
        ])
        .output()
        .expect("psql runs (the PostgreSQL client is needed to restore the fixture)");
    assert!(
        output.status.success(),
        "restoring the fixture failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A store of the previous release opens (migration 0005 runs), verifies
/// (read as `RawJson`, as the server that wrote it did: its payload text
/// keeps the client's key order, which a `serde_json::Value` would sort),
/// under hash version 1, takes a version-2 child under its old root, and
/// reports a redacted version-1 event as unverifiable and a redacted
/// version-2 one as redacted, everything else intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_store_opens_verifies_and_redacts() {
    use eventdag::{
        DagStore, EventDag, EventDagExt, EventKind, Forgetting, HashVersion, DEFAULT_TENANT,
    };

    let guard = common::scratch_database().await;
    restore_v1_fixture(&guard);
    let store: PgDag<eventdag::RawJson> = PgDag::connect(&guard.url()).await.expect("migrates");
    let (version,): (i64,) = sqlx::query_as("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(version, 5, "migration 0005 ran");

    let log: Vec<_> = store
        .events_after(DEFAULT_TENANT, 0, 10)
        .await
        .into_result()
        .unwrap()
        .into_iter()
        .map(|c| c.event)
        .collect();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|e| e.hash_version == HashVersion::V1));
    let root = log.iter().find(|e| e.parents.is_empty()).unwrap().clone();
    assert_eq!(root.header.event_kind, EventKind(1));
    assert_eq!(
        root.payload.as_str(),
        r#"{"name":"Ada","email":"ada@example.com"}"#
    );
    let correlation = root.header.correlation_id;
    let chain = store
        .verify_chain(DEFAULT_TENANT, correlation)
        .await
        .into_result()
        .unwrap();
    assert!(chain.is_intact(), "{chain:?}");
    assert_eq!(chain.checked, 4);

    let child = store
        .append_child(
            root.id(),
            EventKind::DATA,
            eventdag::RawJson::from_text(r#"{"after":"upgrade"}"#).unwrap(),
        )
        .await
        .into_result()
        .unwrap();
    assert_eq!(child.hash_version, HashVersion::V2);
    assert_eq!(store.read(child.id()).await.into_result().unwrap(), child);
    let chain = store
        .verify_chain(DEFAULT_TENANT, correlation)
        .await
        .into_result()
        .unwrap();
    assert!(chain.is_intact() && chain.checked == 5, "{chain:?}");

    let redacted = store
        .redact(DEFAULT_TENANT, root.id(), "erasure request".into())
        .await
        .into_result()
        .unwrap();
    let mark = redacted.redaction.clone().unwrap();
    assert_eq!(
        mark.payload_hash,
        eventdag::payload_hash(br#"{"name":"Ada","email":"ada@example.com"}"#),
        "the mark hashes the bytes the version-1 hash covered"
    );
    store
        .redact(DEFAULT_TENANT, child.id(), "erasure request".into())
        .await
        .into_result()
        .unwrap();
    let chain = store
        .verify_chain(DEFAULT_TENANT, correlation)
        .await
        .into_result()
        .unwrap();
    assert!(chain.is_intact(), "{chain:?}");
    assert_eq!(chain.checked, 5);
    assert_eq!(chain.unverifiable, vec![root.id()]);
    assert_eq!(chain.redacted, vec![child.id()]);
    let one = store.verify_event(root.id()).await.into_result().unwrap();
    assert_eq!(one.unverifiable, vec![root.id()]);
    store.close().await;
}
