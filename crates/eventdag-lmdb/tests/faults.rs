//! Fault handling: a full map (grown, or refused with nothing half-written),
//! a locked directory, a directory of another format, corrupted records,
//! exhausted reader slots, and group commit isolating a refused write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use eventdag::{
    DagPosition, DagStore, Effect, ErrorEffect, Event, EventDag, EventDagExt, EventFlags,
    EventHeader, EventId, EventKind, NewEvent, DEFAULT_TENANT,
};
use eventdag_lmdb::{LmdbDag, LmdbError, LmdbOptions, SyncMode, FORMAT_VERSION};
use serde_json::{json, Value};

fn payload(n: usize, bytes: usize) -> Value {
    json!({"n": n, "pad": "x".repeat(bytes)})
}

/// Opens the raw LMDB environment of a closed store, to damage it.
#[allow(unsafe_code)]
fn raw_env(path: &Path) -> heed::Env {
    // SAFETY: the store that used this directory has been dropped, so no
    // other handle maps the file while the test writes to it.
    unsafe {
        heed::EnvOpenOptions::new()
            .max_dbs(32)
            .map_size(64 << 20)
            .open(path)
            .unwrap()
    }
}

fn raw_put(path: &Path, db: &str, key: &[u8], value: &[u8]) {
    let env = raw_env(path);
    let mut txn = env.write_txn().unwrap();
    let db: heed::Database<heed::types::Bytes, heed::types::Bytes> =
        env.open_database(&txn, Some(db)).unwrap().unwrap();
    db.put(&mut txn, key, value).unwrap();
    txn.commit().unwrap();
    env.prepare_for_closing().wait();
}

#[tokio::test]
async fn map_grows_by_itself_when_full() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbOptions::default()
        .map_size(256 << 10)
        .max_map_size(64 << 20)
        .open(dir.path())
        .unwrap();
    let initial = store.map_size();
    let mut ids = Vec::new();
    for round in 0..10 {
        let drafts = (0..100)
            .map(|n| NewEvent::new(payload(round * 100 + n, 1000)))
            .collect();
        ids.extend(store.append_new_batch(drafts).await.ok().unwrap());
        // A read between the batches leaves a read transaction kept for
        // reuse: growing the map must end it first, and the next read
        // must see the batch written after it.
        let last = ids.last().unwrap().id();
        assert_eq!(store.read(last).await.ok().unwrap().id(), last);
    }
    assert!(store.map_size() > initial, "the map grew from {initial}");
    for id in &ids {
        assert!(store.read(id.id()).await.is_ok());
    }
    let report = store.check_consistency().await.ok().unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.events, 1000);
}

#[tokio::test]
async fn map_full_at_the_maximum_is_operational_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = LmdbOptions::default()
        .map_size(256 << 10)
        .max_map_size(256 << 10);
    let store: LmdbDag<Value> = options.open(dir.path()).unwrap();
    let mut stored = 0u64;
    let error = loop {
        match store.append_new(NewEvent::new(payload(0, 2000))).await {
            Effect::Ok(_) => stored += 1,
            Effect::Err(error) => break error,
            other => panic!("unexpected {other:?}"),
        }
        assert!(stored < 1000, "a 256 KiB map never filled");
    };
    assert!(error.is_operational(), "{error:?}");
    assert!(matches!(error, ErrorEffect::StorageUnavailable { .. }));
    let message = error.to_string();
    assert!(
        message.contains("map is full") && message.contains("max_map_size"),
        "{message}"
    );
    // A batch that does not fit stores none of its events.
    let drafts = (0..20).map(|n| NewEvent::new(payload(n, 2000))).collect();
    assert!(store.append_new_batch(drafts).await.is_err());
    let report = store.check_consistency().await.ok().unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.events, stored, "nothing half-written");
    drop(store);

    let store: LmdbDag<Value> = options.max_map_size(16 << 20).open(dir.path()).unwrap();
    assert!(store
        .append_new(NewEvent::new(payload(1, 2000)))
        .await
        .is_ok());
    let report = store.check_consistency().await.ok().unwrap();
    assert!(report.is_consistent());
    assert_eq!(report.events, stored + 1);
}

#[tokio::test]
async fn a_directory_in_use_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let first: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let second = LmdbDag::<Value>::open(dir.path());
    let error = second.unwrap_err();
    assert!(matches!(error, LmdbError::Locked { .. }), "{error:?}");
    assert!(error.to_string().contains("in use"));
    drop(first);
    assert!(
        LmdbDag::<Value>::open(dir.path()).is_ok(),
        "the lock goes with the store"
    );
}

#[tokio::test]
async fn a_directory_of_another_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let root = store
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(1))
        .await
        .ok()
        .unwrap();
    drop(store);
    raw_put(dir.path(), "meta", b"format_version", &99u32.to_be_bytes());
    let error = LmdbDag::<Value>::open(dir.path()).unwrap_err();
    match &error {
        LmdbError::IncompatibleFormat {
            found, supported, ..
        } => {
            assert_eq!(found, "99");
            assert_eq!(*supported, FORMAT_VERSION);
        }
        other => panic!("expected IncompatibleFormat, got {other:?}"),
    }
    assert!(error.to_string().contains("export"));
    raw_put(
        dir.path(),
        "meta",
        b"format_version",
        &FORMAT_VERSION.to_be_bytes(),
    );
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    assert!(
        store.read(root.id()).await.is_ok(),
        "refusing changed nothing"
    );
}

#[tokio::test]
async fn a_file_that_is_not_lmdb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.mdb"), vec![0x5a; 64 << 10]).unwrap();
    let error = LmdbDag::<Value>::open(dir.path()).unwrap_err();
    assert!(
        matches!(error, LmdbError::IncompatibleFormat { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_payload_that_does_not_decode_is_corruption_naming_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let root = store
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(1))
        .await
        .ok()
        .unwrap();
    let child = store
        .append_child(root.id(), EventKind::DATA, json!(2))
        .await
        .ok()
        .unwrap();
    assert!(
        store
            .simulate_corruption(root.id(), b"{not json".to_vec())
            .await
    );
    for effect in [
        store.read(root.id()).await.map(|_| ()),
        store.walk_ancestors(child.id(), 10).await.map(|_| ()),
    ] {
        match effect {
            Effect::Err(ErrorEffect::Corruption { event_id, message }) => {
                assert_eq!(event_id, Some(root.id()));
                assert!(message.contains(&root.id().to_string()));
            }
            other => panic!("expected Corruption, got {other:?}"),
        }
    }
    assert!(
        store.read(child.id()).await.is_ok(),
        "other events still read"
    );
    let report = store.check_consistency().await.ok().unwrap();
    assert_eq!(report.problem_count, 1, "{report:?}");
    assert!(report.problems[0].contains("not valid JSON"));
}

#[tokio::test]
async fn a_truncated_record_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let root = store
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(1))
        .await
        .ok()
        .unwrap();
    drop(store);
    raw_put(dir.path(), "events", root.id().as_bytes(), &[1, 2, 3]);
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let error = store.read(root.id()).await.err().unwrap();
    assert!(
        matches!(error, ErrorEffect::Corruption { event_id: Some(id), .. } if id == root.id()),
        "{error:?}"
    );
    assert!(error.is_operational());
    let report = store.check_consistency().await.ok().unwrap();
    assert!(!report.is_consistent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_readers_wait_for_slots_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbOptions::default()
        .max_readers(4)
        .open(dir.path())
        .unwrap();
    let root = store
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!(1))
        .await
        .ok()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..300 {
        let store = store.clone();
        let id = root.id();
        tasks.push(tokio::spawn(async move {
            let read = store.read(id).await.is_ok();
            let walked = store.walk_ancestors(id, 10).await.is_ok();
            read && walked
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_keeps_a_refused_write_out() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let mut tasks = Vec::new();
    for lane in 0..64u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let parents = if lane % 4 == 3 {
                vec![eventdag::new_event_id()]
            } else {
                Vec::new()
            };
            let depth = u32::from(!parents.is_empty());
            let header = EventHeader::new(
                EventId::nil(),
                EventId::nil(),
                0,
                DagPosition::new(depth, lane, 0),
                0,
                EventKind::DATA,
                EventFlags::empty(),
            );
            let event = Event::new(header, json!(lane)).with_parents(parents);
            (lane, store.append(event).await)
        }));
    }
    let mut stored = 0;
    for task in tasks {
        match task.await.unwrap() {
            (lane, Effect::Ok(_)) if lane % 4 != 3 => stored += 1,
            (lane, Effect::Err(ErrorEffect::ParentNotFound { .. })) if lane % 4 == 3 => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(stored, 48);
    let report = store.check_consistency().await.ok().unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.events, 48);
}

#[tokio::test]
async fn everything_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbOptions::default()
        .sync_mode(SyncMode::NoSync)
        .open(dir.path())
        .unwrap();
    let root = store
        .append_new(NewEvent::new(json!(1)).flags(EventFlags::REQUIRES_ACK))
        .await
        .ok()
        .unwrap();
    let child = store
        .append_child(root.id(), EventKind::NOTE, json!(2))
        .await
        .ok()
        .unwrap();
    store.acknowledge(child.id(), true).await.ok().unwrap();
    drop(store);
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    assert_eq!(
        store.read(child.id()).await.ok().unwrap(),
        child_acknowledged(child)
    );
    assert_eq!(store.unacknowledged(10).await.ok().unwrap().len(), 1);
    assert_eq!(store.signals_of(root.id(), 10).await.ok().unwrap().len(), 1);
    assert_eq!(
        store
            .events_after(DEFAULT_TENANT, 0, 10)
            .await
            .ok()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.next_position(None, 0).await.ok().unwrap().sequence, 2);
}

fn child_acknowledged(mut event: Event<Value>) -> Event<Value> {
    event.header.flags.insert(EventFlags::ACKNOWLEDGED);
    event
}
