//! Forgetting on the embedded store, beyond the shared cases: a store the
//! previous release wrote keeps verifying (hash version 1) and is
//! upgraded in place; tenant erasure leaves no byte of the tenant in any
//! database; retention's freed pages are reused; the consistency check
//! accepts what retention leaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use eventdag::retention::{apply_retention, plan_retention};
use eventdag::{
    now_micros, ApiKeyRecord, ClaimRequest, DagStore, EventDag, EventDagExt, EventFlags,
    Forgetting, HashVersion, NewEvent, RetentionPolicy, RetentionRule, TenantRecord, TenantStore,
    UpstreamSignal, WorkQueue, DEFAULT_TENANT,
};
use eventdag_lmdb::{LmdbDag, LmdbOptions, SyncMode};
use serde_json::{json, Value};
use uuid::Uuid;

/// Opens the raw LMDB environment of a closed store, to read every byte.
#[allow(unsafe_code)]
fn raw_env(path: &Path) -> heed::Env {
    // SAFETY: the store that used this directory has been dropped, so no
    // other handle maps the file while the test reads it.
    unsafe {
        heed::EnvOpenOptions::new()
            .max_dbs(64)
            .map_size(1 << 30)
            .open(path)
            .unwrap()
    }
}

/// Every (database, key, value) of the store at `path`.
fn every_entry(path: &Path) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let env = raw_env(path);
    let txn = env.read_txn().unwrap();
    let unnamed: heed::Database<heed::types::Bytes, heed::types::Bytes> =
        env.open_database(&txn, None).unwrap().unwrap();
    // The unnamed database lists the named ones.
    let names: Vec<String> = unnamed
        .iter(&txn)
        .unwrap()
        .map(|entry| String::from_utf8(entry.unwrap().0.to_vec()).unwrap())
        .collect();
    assert!(
        names.len() >= 19,
        "every named database is listed: {names:?}"
    );
    let mut out = Vec::new();
    for name in names {
        let db: heed::Database<heed::types::Bytes, heed::types::Bytes> =
            env.open_database(&txn, Some(&name)).unwrap().unwrap();
        for entry in db.iter(&txn).unwrap() {
            let (key, value) = entry.unwrap();
            out.push((name.clone(), key.to_vec(), value.to_vec()));
        }
    }
    drop(txn);
    env.prepare_for_closing().wait();
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_by_the_previous_release_keeps_verifying() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-store/data.mdb");
    std::fs::copy(&fixture, dir.path().join("data.mdb")).unwrap();
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let old: Vec<_> = store
        .events_after(DEFAULT_TENANT, 0, 100)
        .await
        .ok()
        .unwrap()
        .into_iter()
        .map(|c| c.event)
        .collect();
    assert_eq!(old.len(), 4, "the fixture holds a 4-event chain");
    assert!(old.iter().all(|e| e.hash_version == HashVersion::V1));
    let root = old[0].clone();
    assert_eq!(root.payload["email"], "ada@example.com");
    let chain = root.header.correlation_id;
    let verified = store
        .verify_chain(DEFAULT_TENANT, chain)
        .await
        .ok()
        .unwrap();
    assert!(
        verified.is_intact() && verified.checked == 4,
        "{verified:?}"
    );

    let child = store
        .append_new(NewEvent::new(json!({"after": "upgrade"})).parents([root.id()]))
        .await
        .ok()
        .unwrap();
    assert_eq!(child.hash_version, HashVersion::V2);
    let verified = store
        .verify_chain(DEFAULT_TENANT, chain)
        .await
        .ok()
        .unwrap();
    assert!(
        verified.is_intact() && verified.checked == 5,
        "{verified:?}"
    );

    // A version-1 hash covered the bytes: once they are gone it cannot be
    // checked, but everything below still is.
    store
        .redact(DEFAULT_TENANT, root.id(), "GDPR erasure request".into())
        .await
        .ok()
        .unwrap();
    store
        .redact(DEFAULT_TENANT, child.id(), "GDPR erasure request".into())
        .await
        .ok()
        .unwrap();
    let verified = store
        .verify_chain(DEFAULT_TENANT, chain)
        .await
        .ok()
        .unwrap();
    assert!(verified.is_intact(), "{verified:?}");
    assert_eq!(verified.unverifiable, vec![root.id()]);
    assert_eq!(verified.redacted, vec![child.id()]);
    assert!(store
        .check_consistency()
        .await
        .ok()
        .unwrap()
        .is_consistent());
    drop(store);

    // Opened for writing, the store was upgraded to this release's format.
    let marker = every_entry(dir.path())
        .into_iter()
        .find(|(db, key, _)| db == "meta" && key == b"format_version")
        .map(|(_, _, value)| value);
    assert_eq!(
        marker,
        Some(eventdag_lmdb::FORMAT_VERSION.to_be_bytes().to_vec())
    );
    let reopened: LmdbDag<Value> = LmdbDag::open_read_only(dir.path()).unwrap();
    assert!(reopened.read(root.id()).await.ok().unwrap().is_redacted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_leaves_no_byte_of_the_tenant_in_any_database() {
    let dir = tempfile::tempdir().unwrap();
    let leaving = Uuid::now_v7();
    let staying = Uuid::now_v7();
    {
        let store: LmdbDag<Value> = LmdbOptions::default()
            .map_size(8 << 20)
            .sync_mode(SyncMode::NoSync)
            .open(dir.path())
            .unwrap();
        for (tenant, name) in [(leaving, "leaving"), (staying, "staying")] {
            store
                .create_tenant(TenantRecord {
                    tenant_id: tenant,
                    name: name.into(),
                    created_at: 1,
                })
                .await
                .ok()
                .unwrap();
            store
                .put_api_key(ApiKeyRecord {
                    prefix: format!("edk_{name}"),
                    tenant_id: tenant,
                    key_hash: [1; 32],
                    created_at: 1,
                    revoked: false,
                })
                .await
                .ok()
                .unwrap();
            let root = store
                .append_new(
                    NewEvent::new(json!({"secret": format!("payload-of-{name}")})).tenant(tenant),
                )
                .await
                .ok()
                .unwrap();
            let child = store
                .append_new(
                    NewEvent::new(json!({"secret": format!("payload-of-{name}")}))
                        .tenant(tenant)
                        .parents([root.id()])
                        .flags(EventFlags::REQUIRES_ACK),
                )
                .await
                .ok()
                .unwrap();
            let waiting = store
                .append_new(
                    NewEvent::new(json!({"n": 3}))
                        .tenant(tenant)
                        .parents([child.id()])
                        .flags(EventFlags::REQUIRES_ACK),
                )
                .await
                .ok()
                .unwrap();
            store.acknowledge(child.id(), true).await.ok().unwrap();
            store
                .signal_upstream(
                    waiting.id(),
                    UpstreamSignal::Cancel {
                        correlation_id: root.id(),
                        reason: "done".into(),
                    },
                )
                .await
                .ok()
                .unwrap();
            let claimed = store
                .claim(ClaimRequest::new(
                    tenant,
                    "worker",
                    10,
                    Duration::from_secs(60),
                ))
                .await
                .ok()
                .unwrap();
            assert_eq!(claimed.len(), 1, "the waiting event is leased");
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
                .ok()
                .unwrap();
        }
        let erased = store.erase_tenant(leaving).await.ok().unwrap();
        assert_eq!(
            (erased.events, erased.api_keys, erased.registered),
            (3, 1, true)
        );
        assert!(store
            .check_consistency()
            .await
            .ok()
            .unwrap()
            .is_consistent());
    }
    let entries = every_entry(dir.path());
    let id_text = leaving.to_string();
    let traces: Vec<&(String, Vec<u8>, Vec<u8>)> = entries
        .iter()
        .filter(|(_, key, value)| {
            [
                leaving.as_bytes().as_slice(),
                id_text.as_bytes(),
                b"payload-of-leaving",
                b"edk_leaving",
            ]
            .iter()
            .any(|needle| contains(key, needle) || contains(value, needle))
        })
        .collect();
    assert!(traces.is_empty(), "traces of the erased tenant: {traces:?}");
    let staying_text = staying.to_string();
    let kept = entries
        .iter()
        .filter(|(_, key, value)| {
            contains(key, staying.as_bytes())
                || contains(value, staying.as_bytes())
                || contains(value, staying_text.as_bytes())
        })
        .count();
    assert!(
        kept > 20,
        "the other tenant is untouched ({kept} entries name it)"
    );
}

/// Appends `chains` chains of 10 events of `pad` bytes each at `timestamp`.
async fn fill(store: &LmdbDag<Value>, chains: usize, pad: usize, timestamp: u64) {
    for chain in 0..chains {
        let root_id = Uuid::now_v7();
        let mut drafts = vec![NewEvent::new(json!({"pad": "x".repeat(pad)}))
            .id(root_id)
            .timestamp(timestamp)];
        for n in 1..10 {
            drafts.push(
                NewEvent::new(json!({"chain": chain, "n": n, "pad": "y".repeat(pad)}))
                    .parents([root_id])
                    .timestamp(timestamp),
            );
        }
        store.append_new_batch(drafts).await.ok().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn space_of_removed_chains_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbOptions::default()
        .map_size(64 << 20)
        .sync_mode(SyncMode::NoSync)
        .open(dir.path())
        .unwrap();
    let data = dir.path().join("data.mdb");
    let size = || std::fs::metadata(&data).unwrap().len();
    let old = now_micros() - 10 * 86_400 * 1_000_000;
    let empty = size();
    fill(&store, 100, 2_000, old).await;
    let full = size();
    let policy = RetentionPolicy {
        rules: vec![RetentionRule {
            kind: None,
            max_age_seconds: 86_400,
        }],
    };
    let plan = plan_retention(&store, DEFAULT_TENANT, &policy, now_micros())
        .await
        .ok()
        .unwrap();
    assert_eq!(plan.remove.len(), 100);
    let report = apply_retention(&store, &plan, None).await.ok().unwrap();
    assert_eq!(report.removed_events, 1_000);
    assert!(store
        .check_consistency()
        .await
        .ok()
        .unwrap()
        .is_consistent());
    let after_removal = size();
    fill(&store, 100, 2_000, now_micros()).await;
    let refilled = size();
    let first_growth = full - empty;
    let second_growth = refilled.saturating_sub(after_removal);
    eprintln!(
        "data.mdb: empty {empty} B, 1,000 events {full} B, after removal {after_removal} B, \
         1,000 new events {refilled} B (growth {first_growth} B, then {second_growth} B)"
    );
    assert!(
        second_growth * 4 < first_growth,
        "the second 1,000 events reuse the freed pages: grew {second_growth} B after {first_growth} B"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compacted_copy_holds_no_byte_of_a_redacted_payload() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let secret = "passport-X1234567-of-ada";
    let root = store
        .append_new(NewEvent::new(json!({"passport": secret})))
        .await
        .ok()
        .unwrap();
    let child = store
        .append_new(NewEvent::new(json!({"n": 1})).parents([root.id()]))
        .await
        .ok()
        .unwrap();
    store
        .redact(DEFAULT_TENANT, root.id(), "GDPR".into())
        .await
        .ok()
        .unwrap();
    let live = std::fs::read(dir.path().join("data.mdb")).unwrap();
    // Not asserted: whether the freed page was reused yet is LMDB's
    // business. What is asserted is the copy.
    eprintln!(
        "live data.mdb still holds the redacted bytes in a free page: {}",
        contains(&live, secret.as_bytes())
    );
    let copy = tempfile::tempdir().unwrap();
    let target = copy.path().join("compacted");
    store.compact_into(&target).unwrap();
    let compacted = std::fs::read(target.join("data.mdb")).unwrap();
    assert!(!contains(&compacted, secret.as_bytes()));
    assert!(
        store.compact_into(&target).is_err(),
        "a non-empty target is refused"
    );
    drop(store);
    let reopened: LmdbDag<Value> = LmdbDag::open(&target).unwrap();
    let chain = reopened
        .verify_chain(DEFAULT_TENANT, root.id())
        .await
        .ok()
        .unwrap();
    assert!(
        chain.is_intact() && chain.redacted == vec![root.id()],
        "{chain:?}"
    );
    assert_eq!(reopened.read(child.id()).await.ok().unwrap(), child);
}
