//! `eventdag verify` (and every other command) on an embedded store whose
//! `data.mdb` was truncated or overwritten with random bytes: an error
//! that says what was found and how to restore, never a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use common::{eventdag, id_of, ok_lines, stderr};
use eventdag::{EventDagExt, NewEvent};
use eventdag_lmdb::LmdbDag;
use rand::RngCore;
use serde_json::{json, Value};

/// A store of a few hundred events (many pages), closed; the root's id.
fn store_with_events(data: &Path) -> String {
    let root = id_of(&ok_lines(&eventdag(data, &["append", "--payload", "0"]))[0]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store: LmdbDag<Value> = LmdbDag::open(data).unwrap();
        let drafts = (0..300)
            .map(|n| NewEvent::new(json!({"n": n, "pad": "x".repeat(200)})))
            .collect();
        store.append_new_batch(drafts).await.ok().unwrap();
    });
    root
}

fn page_size() -> u64 {
    // LMDB writes with the OS page size; 4 KiB on the machines we run on.
    4096
}

fn assert_refused_without_a_crash(data: &Path, args: &[&str], expected: &[&str]) {
    let output = eventdag(data, args);
    assert_eq!(
        output.status.signal(),
        None,
        "{args:?} was killed by a signal: {:?}",
        output.status
    );
    assert!(
        !output.status.success(),
        "{args:?} succeeded on a damaged store"
    );
    let message = stderr(&output);
    for word in expected {
        assert!(message.contains(word), "{args:?}: {message}");
    }
}

#[test]
fn verify_on_a_truncated_store_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let root = store_with_events(&data);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(data.join("data.mdb"))
        .unwrap();
    let length = file.metadata().unwrap().len();
    assert!(length > 10 * page_size(), "a store of {length} bytes");
    file.set_len(3 * page_size()).unwrap();
    drop(file);

    for args in [
        vec!["verify"],
        vec!["get", &root],
        vec!["append", "--payload", "1"],
    ] {
        assert_refused_without_a_crash(&data, &args, &["data.mdb", "backup", "verify"]);
    }
}

#[test]
fn verify_on_a_store_overwritten_after_its_third_page_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    store_with_events(&data);
    let path = data.join("data.mdb");
    let mut bytes = std::fs::read(&path).unwrap();
    let from = usize::try_from(3 * page_size()).unwrap();
    rand::rng().fill_bytes(&mut bytes[from..]);
    std::fs::write(&path, &bytes).unwrap();

    assert_refused_without_a_crash(&data, &["verify"], &["data.mdb", "backup"]);
}
