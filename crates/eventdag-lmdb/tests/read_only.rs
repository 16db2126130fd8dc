//! Opening for reading only, and where a store may be created: a
//! read-only store creates nothing, refuses every write and needs an
//! existing store; no open creates a store among somebody else's files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use eventdag::{
    ErrorEffect, EventDag, EventDagExt, EventKind, NewEvent, TenantRecord, TenantStore,
    DEFAULT_TENANT,
};
use eventdag_lmdb::{LmdbDag, LmdbError, LmdbOptions};
use serde_json::{json, Value};

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_read_only_store_reads_and_refuses_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let store: LmdbDag<Value> = LmdbDag::open(dir.path()).unwrap();
    let root = store
        .append_root(DEFAULT_TENANT, EventKind::DATA, json!({"n": 1}))
        .await
        .ok()
        .unwrap();
    drop(store);
    let before = std::fs::read(dir.path().join("data.mdb")).unwrap();

    let store: LmdbDag<Value> = LmdbDag::open_read_only(dir.path()).unwrap();
    assert!(store.options().get_read_only());
    assert_eq!(store.read(root.id()).await.ok().unwrap(), root);
    assert!(store
        .check_consistency()
        .await
        .ok()
        .unwrap()
        .is_consistent());
    assert!(store
        .verify_event(root.id())
        .await
        .ok()
        .unwrap()
        .is_intact());
    let writes = [
        store.append_new(NewEvent::new(json!(2))).await.map(|_| ()),
        store.acknowledge(root.id(), false).await,
        store
            .create_tenant(TenantRecord {
                tenant_id: uuid::Uuid::now_v7(),
                name: "acme".into(),
                created_at: 1,
            })
            .await,
    ];
    for write in writes {
        match write.into_result() {
            Err(error @ ErrorEffect::StorageUnavailable { .. }) => {
                assert!(error.to_string().contains("read-only"), "{error}");
            }
            other => panic!("a write through a read-only store: {other:?}"),
        }
    }
    drop(store);
    assert_eq!(
        std::fs::read(dir.path().join("data.mdb")).unwrap(),
        before,
        "nothing was written"
    );
}

#[test]
fn read_only_needs_an_existing_store_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    for path in [missing.as_path(), dir.path()] {
        let error = LmdbDag::<Value>::open_read_only(path).unwrap_err();
        assert!(matches!(error, LmdbError::NotAStore { .. }), "{error:?}");
    }
    assert!(!missing.exists());
    assert!(names_in(dir.path()).is_empty());
    let error = LmdbOptions::default()
        .create(false)
        .open::<Value>(&missing)
        .unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
    assert!(!missing.exists());
}

#[test]
fn no_store_is_created_among_other_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let error = LmdbDag::<Value>::open(dir.path()).unwrap_err();
    assert!(matches!(error, LmdbError::NotAStore { .. }), "{error:?}");
    assert!(error.to_string().contains("notes.txt"), "{error}");
    assert_eq!(names_in(dir.path()), vec!["notes.txt"]);
    let file = dir.path().join("notes.txt");
    let error = LmdbDag::<Value>::open(&file).unwrap_err();
    assert!(
        matches!(error, LmdbError::NotADirectory { .. }),
        "{error:?}"
    );
}
