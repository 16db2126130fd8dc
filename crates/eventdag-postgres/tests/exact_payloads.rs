//! `PgDag` keeps payloads exactly as sent (the shared exact-payload
//! property test), and rows written before migration 0002 — payloads
//! re-rendered by `jsonb` — still read and verify as they were hashed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eventdag::{EventDag, EventDagExt, NewEvent, RawJson};
use eventdag_postgres::{PgDag, PgOptions};
use serde_json::{json, Value};

use common::Guard;

async fn fresh() -> (PgDag<RawJson>, Guard) {
    let guard = common::scratch_database().await;
    let store = PgDag::connect_with(&guard.url(), PgOptions::new().max_connections(4))
        .await
        .expect("connect to the scratch database");
    (store, guard)
}

eventdag_testkit::exact_payload_suite!(fresh);

/// What migration 0002 does to a row written before it: the `jsonb` text
/// becomes `json`, marked encoding 0.
async fn as_if_written_before_migration_0002(store: &PgDag<Value>) {
    sqlx::query("UPDATE eventdag_events SET payload = payload::jsonb::json, payload_encoding = 0")
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn rows_written_before_exact_payloads_read_and_verify_as_hashed() {
    let guard = common::scratch_database().await;
    let old: PgDag<Value> = PgDag::connect(&guard.url()).await.unwrap();
    // Keys whose jsonb order (by length) differs from serde_json's, and a
    // float jsonb renders in other digits than serde_json.
    let payload = json!({"bb": 1, "a": [1.5e300, 0.1], "ccc": {"z": null, "yy": "é"}});
    let root = old
        .append_new(NewEvent::new(payload.clone()))
        .await
        .into_result()
        .unwrap();
    let child = old
        .append_new(NewEvent::new(json!(2)).parents([root.id()]))
        .await
        .into_result()
        .unwrap();
    as_if_written_before_migration_0002(&old).await;

    let read = old.read(root.id()).await.into_result().unwrap();
    assert_eq!(read.payload, payload);
    assert!(old
        .verify_event(root.id())
        .await
        .into_result()
        .unwrap()
        .is_intact());
    let raw: PgDag<RawJson> = PgDag::connect(&guard.url()).await.unwrap();
    let read = raw.read(root.id()).await.into_result().unwrap();
    assert_eq!(
        read.payload.as_str(),
        serde_json::to_string(&payload).unwrap()
    );
    let chain = raw
        .verify_chain(eventdag::DEFAULT_TENANT, root.id())
        .await
        .into_result()
        .unwrap();
    assert!(raw
        .verify_event(child.id())
        .await
        .into_result()
        .unwrap()
        .is_intact());
    assert!(chain.is_intact(), "{chain:?}");
    // Re-appending the old event is still idempotent.
    let again = raw.append(read.clone()).await.into_result().unwrap();
    assert_eq!(again, root.id());
    old.close().await;
    raw.close().await;
}
