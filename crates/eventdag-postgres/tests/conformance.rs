//! `PgDag` against the shared conformance suite, each case on its own
//! scratch database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use eventdag::EventId;
use eventdag_postgres::PgDag;
use serde_json::Value;

use common::{fresh, Guard};

async fn fresh_store() -> (PgDag<Value>, Guard) {
    fresh().await
}

/// Rewrites the stored payload behind the store's back, keeping the hash.
async fn corrupt(store: &PgDag<Value>, event_id: EventId) {
    let changed = sqlx::query(
        "UPDATE eventdag_events SET payload = '{\"tampered\": true}'::json WHERE event_id = $1",
    )
    .bind(event_id)
    .execute(store.pool())
    .await
    .expect("corrupt");
    assert_eq!(changed.rows_affected(), 1);
}

eventdag_testkit::conformance_suite!(fresh_store, corrupt);

/// The races on a larger pool: 8 consumers each hold a connection.
async fn race_store() -> (PgDag<Value>, Guard) {
    common::fresh_with(eventdag_postgres::PgOptions::new().max_connections(10)).await
}

eventdag_testkit::queue_suite!(
    fresh_store,
    race_store,
    eventdag_testkit::cases::queue::RACE_EVENTS
);

eventdag_testkit::forgetting_suite!(fresh_store, corrupt);

// Forgetting beyond the shared cases: what PostgreSQL itself still holds.

use eventdag::{
    now_micros, ApiKeyRecord, ClaimRequest, DagStore, EventDag, EventDagExt, EventFlags, EventKind,
    Forgetting, NewEvent, RetentionPolicy, RetentionRule, TenantRecord, TenantStore,
    UpstreamSignal, WorkQueue,
};
use serde_json::json;
use std::time::Duration;

/// Every table of the schema, from `information_schema` (so a table added
/// later is scanned too).
async fn eventdag_tables(store: &PgDag<Value>) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
           AND table_name LIKE 'eventdag%' ORDER BY table_name",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let tables: Vec<String> = rows.into_iter().map(|(t,)| t).collect();
    assert!(tables.len() >= 14, "{tables:?}");
    tables
}

/// The tables holding a row whose text contains `needle`, with counts.
async fn tables_containing(store: &PgDag<Value>, needle: &str) -> Vec<(String, i64)> {
    let mut found = Vec::new();
    for table in eventdag_tables(store).await {
        let (count,): (i64,) = sqlx::query_as(&format!(
            "SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || $1 || '%'"
        ))
        .bind(needle)
        .fetch_one(store.pool())
        .await
        .unwrap();
        if count > 0 {
            found.push((table, count));
        }
    }
    found
}

/// After `erase_tenant`, no row of any table names the tenant — events,
/// ids, edges, lanes, logs, chain state, signals, deliveries, queue,
/// change log, registry, keys, retention — and another tenant keeps its
/// rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_tenant_is_named_by_no_row() {
    let (store, _guard) = fresh_store().await;
    let tenant = uuid::Uuid::now_v7();
    let other = uuid::Uuid::now_v7();
    store
        .create_tenant(TenantRecord {
            tenant_id: tenant,
            name: "leaving".into(),
            created_at: 1,
        })
        .await
        .into_result()
        .unwrap();
    store
        .put_api_key(ApiKeyRecord {
            prefix: "edk_leaving".into(),
            tenant_id: tenant,
            key_hash: [3; 32],
            created_at: 1,
            revoked: false,
        })
        .await
        .into_result()
        .unwrap();
    let root = store
        .append_new(NewEvent::new(json!({"r": 1})).tenant(tenant))
        .await
        .into_result()
        .unwrap();
    let acked = store
        .append_new(
            NewEvent::new(json!({"c": 1}))
                .tenant(tenant)
                .parents([root.id()])
                .flags(EventFlags::REQUIRES_ACK),
        )
        .await
        .into_result()
        .unwrap();
    store
        .acknowledge(acked.id(), true)
        .await
        .into_result()
        .unwrap();
    let queued = store
        .append_new(
            NewEvent::new(json!({"q": 1}))
                .tenant(tenant)
                .parents([root.id()])
                .flags(EventFlags::REQUIRES_ACK),
        )
        .await
        .into_result()
        .unwrap();
    let claimed = store
        .claim(ClaimRequest::new(
            tenant,
            "worker",
            1,
            Duration::from_secs(60),
        ))
        .await
        .into_result()
        .unwrap();
    assert_eq!(claimed[0].event.id(), queued.id());
    store
        .signal_upstream(
            acked.id(),
            UpstreamSignal::Cancel {
                correlation_id: root.id(),
                reason: "leaving".into(),
            },
        )
        .await
        .into_result()
        .unwrap();
    store
        .set_retention_policy(
            tenant,
            Some(RetentionPolicy {
                rules: vec![RetentionRule {
                    kind: None,
                    max_age_seconds: 60,
                }],
            }),
        )
        .await
        .into_result()
        .unwrap();
    let kept = store
        .append_new(NewEvent::new(json!({"stays": 1})).tenant(other))
        .await
        .into_result()
        .unwrap();

    let before = tables_containing(&store, &tenant.to_string()).await;
    let named: Vec<&str> = before.iter().map(|(t, _)| t.as_str()).collect();
    for table in [
        "eventdag_events",
        "eventdag_event_ids",
        "eventdag_edges",
        "eventdag_lanes",
        "eventdag_tenant_logs",
        "eventdag_chains",
        "eventdag_signals",
        "eventdag_signal_deliveries",
        "eventdag_queue",
        "eventdag_changes",
        "eventdag_tenants",
        "eventdag_api_keys",
        "eventdag_retention",
    ] {
        assert!(named.contains(&table), "the scan finds {table}: {before:?}");
    }

    let erased = store.erase_tenant(tenant).await.into_result().unwrap();
    assert_eq!((erased.events, erased.api_keys), (3, 1));
    let after = tables_containing(&store, &tenant.to_string()).await;
    assert!(
        after.is_empty(),
        "rows still name the erased tenant: {after:?}"
    );
    assert_eq!(store.read(kept.id()).await.into_result().unwrap(), kept);
    assert!(!tables_containing(&store, &other.to_string())
        .await
        .is_empty());
    // Followers learn of it from one tenant-less change row.
    let (kind_5,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM eventdag_changes \
         WHERE change = 5 AND tenant_id = '00000000-0000-0000-0000-000000000000'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(kind_5, 1);
}

/// After a redaction, no row of any table holds the payload; the mark,
/// header and hash stay, and the change log says which event to evict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redacted_payload_is_in_no_row() {
    let (store, _guard) = fresh_store().await;
    let secret = format!("secret-{}", uuid::Uuid::now_v7().simple());
    let root = store
        .append_new(NewEvent::new(json!({"email": secret})).flags(EventFlags::REQUIRES_ACK))
        .await
        .into_result()
        .unwrap();
    let child = store
        .append_child(root.id(), EventKind::DATA, json!({"next": 1}))
        .await
        .into_result()
        .unwrap();
    store
        .claim(ClaimRequest::new(
            eventdag::DEFAULT_TENANT,
            "worker",
            1,
            Duration::from_secs(60),
        ))
        .await
        .into_result()
        .unwrap();
    store
        .signal_upstream(
            child.id(),
            UpstreamSignal::Backpressure {
                until: now_micros() + 1,
            },
        )
        .await
        .into_result()
        .unwrap();
    assert_eq!(
        tables_containing(&store, &secret).await,
        vec![("eventdag_events".to_owned(), 1)],
        "the payload is stored once"
    );
    let mut changes = store.subscribe().await.unwrap();
    let redacted = store
        .redact(eventdag::DEFAULT_TENANT, root.id(), "GDPR".into())
        .await
        .into_result()
        .unwrap();
    assert_eq!(redacted.payload, Value::Null);
    assert!(
        tables_containing(&store, &secret).await.is_empty(),
        "no row keeps the payload"
    );
    let notice = tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        notice,
        eventdag_postgres::PgChange::Redacted {
            tenant_id: eventdag::DEFAULT_TENANT,
            event_id: root.id()
        }
    );
    let (logged,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM eventdag_changes WHERE change = 3 AND event_id = $1")
            .bind(root.id())
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(logged, 1);
    // The queue still hands out the redacted event, without its payload.
    let entry = store
        .queue_entry(eventdag::DEFAULT_TENANT, root.id())
        .await
        .into_result()
        .unwrap();
    assert!(entry.is_some());
    let verified = store
        .verify_chain(eventdag::DEFAULT_TENANT, root.id())
        .await
        .into_result()
        .unwrap();
    assert!(verified.is_intact() && verified.redacted == vec![root.id()]);
}

/// A removed chain takes the signals its events sent with their
/// deliveries to events of other chains (upstream ancestors), which stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_chain_takes_its_signals_to_other_chains() {
    let (store, _guard) = fresh_store().await;
    let old = now_micros() - 86_400 * 1_000_000;
    let upstream = store
        .append_new(NewEvent::new(json!({"up": 1})).timestamp(old))
        .await
        .into_result()
        .unwrap();
    let downstream = store
        .append_new(
            NewEvent::new(json!({"down": 1}))
                .parents([upstream.id()])
                .correlation(uuid::Uuid::now_v7())
                .timestamp(old)
                .flags(EventFlags::REQUIRES_ACK),
        )
        .await
        .into_result()
        .unwrap();
    // The upstream Ack goes to the ancestor in the other chain.
    store
        .acknowledge(downstream.id(), true)
        .await
        .into_result()
        .unwrap();
    let signals = store
        .signals_of(upstream.id(), 10)
        .await
        .into_result()
        .unwrap();
    assert_eq!(signals.len(), 1, "{signals:?}");
    let removal = store
        .remove_chain(
            eventdag::DEFAULT_TENANT,
            downstream.header.correlation_id,
            now_micros(),
        )
        .await
        .into_result()
        .unwrap();
    assert_eq!(removal, eventdag::ChainRemoval::Removed { events: 1 });
    assert!(store
        .signals_of(upstream.id(), 10)
        .await
        .into_result()
        .unwrap()
        .is_empty());
    let (deliveries, signals): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM eventdag_signal_deliveries), \
                (SELECT count(*) FROM eventdag_signals)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((deliveries, signals), (0, 0));
    assert_eq!(
        store.read(upstream.id()).await.into_result().unwrap(),
        upstream
    );
}

/// The bytes of tables and their indexes (main fork, free space included).
async fn relation_size(store: &PgDag<Value>, relation: &str) -> i64 {
    let (size,): (i64,) = sqlx::query_as("SELECT pg_relation_size($1::regclass)")
        .bind(relation)
        .fetch_one(store.pool())
        .await
        .unwrap();
    size
}

/// Appends `n` old events of 1 KiB payloads as one chain (a root and
/// children of it); the root.
async fn old_chain(store: &PgDag<Value>, n: usize) -> eventdag::Event<Value> {
    let old = now_micros() - 10 * 86_400 * 1_000_000;
    let filler = "x".repeat(1000);
    let root = store
        .append_new(NewEvent::new(json!({"root": filler})).timestamp(old))
        .await
        .into_result()
        .unwrap();
    let mut left = n - 1;
    while left > 0 {
        let take = left.min(500);
        let drafts: Vec<NewEvent<Value>> = (0..take)
            .map(|i| {
                NewEvent::new(json!({"i": i, "filler": filler}))
                    .parents([root.id()])
                    .timestamp(old)
            })
            .collect();
        store.append_new_batch(drafts).await.into_result().unwrap();
        left -= take;
    }
    root
}

/// Plain `VACUUM` (not `FULL`) makes the space of a removed chain
/// reusable: appending as much again after it does not grow the events
/// table by the removed size. A chain appended after the removed one
/// stays, so that VACUUM cannot simply cut the emptied pages off the end
/// of the file. Figures in docs/storage-postgres.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_chain_space_is_reused_after_vacuum() {
    const N: usize = 3000;
    const RELATIONS: [&str; 5] = [
        "eventdag_events",
        "eventdag_events_pkey",
        "eventdag_events_chain_idx",
        "eventdag_event_ids",
        "eventdag_edges",
    ];
    let (store, _guard) = fresh_store().await;
    let sizes = |store: &PgDag<Value>| {
        let store = store.clone();
        async move {
            let mut sizes = Vec::new();
            for relation in RELATIONS {
                sizes.push(relation_size(&store, relation).await);
            }
            sizes
        }
    };
    let removed = old_chain(&store, N).await;
    old_chain(&store, N / 10).await;
    let filled = sizes(&store).await;
    let removal = store
        .remove_chain(eventdag::DEFAULT_TENANT, removed.id(), now_micros())
        .await
        .into_result()
        .unwrap();
    assert_eq!(removal, eventdag::ChainRemoval::Removed { events: N });
    sqlx::raw_sql("VACUUM eventdag_events, eventdag_event_ids, eventdag_edges, eventdag_changes")
        .execute(store.pool())
        .await
        .unwrap();
    let vacuumed = sizes(&store).await;
    old_chain(&store, N).await;
    let refilled = sizes(&store).await;
    for (i, relation) in RELATIONS.iter().enumerate() {
        println!(
            "{relation}: {} bytes with {} events, {} after removing {N} and VACUUM, {} after \
             {N} more",
            filled[i],
            N + N / 10,
            vacuumed[i],
            refilled[i]
        );
    }
    let (table, vacuumed_table, refilled_table) = (filled[0], vacuumed[0], refilled[0]);
    assert!(
        vacuumed_table >= table / 2,
        "the kept chain holds the file's end: {vacuumed_table} of {table} bytes"
    );
    assert!(
        refilled_table <= table + table / 10,
        "the second {N} events grew the table from {table} to {refilled_table} bytes"
    );
}
