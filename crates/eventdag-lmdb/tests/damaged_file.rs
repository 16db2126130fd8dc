//! A `data.mdb` truncated, or overwritten with random bytes after its
//! third page: opening the embedded store (`LmdbDag`) or a raw store (the
//! tiered cache's `RawStore`) is an error naming the file, never a crash.
//! LMDB would follow the damaged pages through its memory map and die of
//! SIGBUS or SIGSEGV, so each open runs in a child process — this test
//! binary again, running the same test function, which acts as the child
//! when `CHILD` is set — and the parent checks how the child ended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use eventdag::{EventDagExt, NewEvent};
use eventdag_lmdb::{LmdbDag, LmdbOptions, RawStore};
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};

/// `embedded:DIR` or `raw:DIR`: open that, report, exit.
const CHILD: &str = "EVENTDAG_DAMAGED_FILE_CHILD";
/// How a child that was refused exits.
const REFUSED: i32 = 3;
const TABLES: &[&str] = &["cache"];
/// LMDB writes pages of the OS page size: 4 KiB where these tests run.
const PAGE: usize = 4096;

/// The child: opens the store, reads all of it, exits 0; exits
/// [`REFUSED`] with the error on stderr if opening or the check refuses.
fn child(spec: &str) -> i32 {
    let (kind, dir) = spec.split_once(':').unwrap();
    let outcome: Result<(), String> = match kind {
        "embedded" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store: LmdbDag<Value> = LmdbDag::open(dir).map_err(|e| e.to_string())?;
                let report = store.check_consistency().await.into_result();
                report.map(|_| ()).map_err(|e| e.to_string())
            }),
        "raw" => RawStore::open(dir, &LmdbOptions::default(), TABLES)
            .and_then(|store| store.check_pages())
            .map_err(|e| e.to_string()),
        other => panic!("unknown child {other}"),
    };
    match outcome {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("{message}");
            REFUSED
        }
    }
}

fn embedded_store(dir: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store: LmdbDag<Value> = LmdbDag::open(dir).unwrap();
        for chunk in 0..6 {
            let drafts = (0..50)
                .map(|n| NewEvent::new(json!({"chunk": chunk, "n": n, "pad": "x".repeat(300)})))
                .collect();
            store.append_new_batch(drafts).await.ok().unwrap();
        }
    });
}

fn raw_store(dir: &Path) {
    let store = RawStore::open(dir, &LmdbOptions::default(), TABLES).unwrap();
    for chunk in 0..6u32 {
        store
            .write(|w| {
                for n in 0..50u32 {
                    let key = [chunk.to_be_bytes(), n.to_be_bytes()].concat();
                    w.put(0, &key, &[0x42; 300])?;
                }
                Ok(())
            })
            .unwrap();
    }
}

/// Runs the child on `spec` and asserts it was refused with a message
/// naming the damage, and not killed by a signal.
fn assert_refused(test: &str, spec: &str, expected: &[&str]) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, spec)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        None,
        "{spec}: the child was killed by a signal: {stderr}"
    );
    assert_eq!(output.status.code(), Some(REFUSED), "{spec}: {stderr}");
    for word in expected {
        assert!(stderr.contains(word), "{spec}: {stderr}");
    }
}

/// Builds both kinds of store, damages their data files with `damage`,
/// and checks that each open is refused.
fn refuses_both(test: &str, damage: impl Fn(&Path), expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (embedded, raw) = (dir.path().join("embedded"), dir.path().join("raw"));
    embedded_store(&embedded);
    raw_store(&raw);
    for (kind, path) in [("embedded", &embedded), ("raw", &raw)] {
        let file = path.join("data.mdb");
        assert!(std::fs::metadata(&file).unwrap().len() > 10 * PAGE as u64);
        damage(&file);
        let mut words = vec!["is damaged", "data.mdb", "backup"];
        words.extend_from_slice(expected);
        assert_refused(test, &format!("{kind}:{}", path.display()), &words);
    }
}

#[test]
fn a_truncated_data_file_is_refused_without_a_crash() {
    if let Ok(spec) = std::env::var(CHILD) {
        std::process::exit(child(&spec));
    }
    refuses_both(
        "a_truncated_data_file_is_refused_without_a_crash",
        |file| {
            let handle = std::fs::OpenOptions::new().write(true).open(file).unwrap();
            handle.set_len(3 * PAGE as u64).unwrap();
        },
        &["expected", "truncated"],
    );
}

#[test]
fn random_bytes_after_the_third_page_are_refused_without_a_crash() {
    if let Ok(spec) = std::env::var(CHILD) {
        std::process::exit(child(&spec));
    }
    let seed = rand::random::<u64>();
    eprintln!("random bytes from seed {seed}");
    refuses_both(
        "random_bytes_after_the_third_page_are_refused_without_a_crash",
        |file| {
            let mut bytes = std::fs::read(file).unwrap();
            rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut bytes[3 * PAGE..]);
            std::fs::write(file, &bytes).unwrap();
        },
        &["expected"],
    );
}

/// An emptied data file would be started afresh by LMDB, hiding that
/// everything in it was lost: it is refused like any truncation.
#[test]
fn an_empty_data_file_is_refused_not_started_afresh() {
    let dir = tempfile::tempdir().unwrap();
    embedded_store(dir.path());
    std::fs::write(dir.path().join("data.mdb"), b"").unwrap();
    let error = LmdbDag::<Value>::open(dir.path()).unwrap_err();
    assert!(
        matches!(error, eventdag_lmdb::LmdbError::Damaged { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("empty file"), "{error}");
    assert_eq!(
        std::fs::metadata(dir.path().join("data.mdb"))
            .unwrap()
            .len(),
        0,
        "nothing was written"
    );
}
