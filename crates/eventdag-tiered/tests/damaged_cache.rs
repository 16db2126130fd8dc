//! A cache whose `data.mdb` was truncated, or overwritten with random
//! bytes after its third page, is wiped and rebuilt on open, as for any
//! damaged cache — not followed by LMDB into a SIGBUS on every start. The
//! open runs in a child process (this test binary again, running the same
//! test function, which acts as the child when `CHILD` is set), and the
//! parent checks that it ended well and not by a signal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use eventdag::{EventDag, EventId, DEFAULT_TENANT};
use eventdag_testkit::support::{line, ok};
use eventdag_tiered::TieredDag;
use rand::{RngCore, SeedableRng};
use serde_json::Value;

use common::{fresh, test_options};

/// `CACHE_DIR|POSTGRES_URL|ID,ID,…`: open the cache, read the ids, exit.
const CHILD: &str = "EVENTDAG_DAMAGED_CACHE_CHILD";
/// LMDB writes pages of the OS page size: 4 KiB where these tests run.
const PAGE: usize = 4096;

/// The child: opens the tiered store on the damaged cache, which must
/// come up empty, and reads every event through it.
async fn child(spec: &str) {
    let mut parts = spec.split('|');
    let (dir, url, ids) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let store: TieredDag<Value> = TieredDag::open_with(dir, url, test_options())
        .await
        .expect("the tiered store opens on a damaged cache");
    assert_eq!(
        store.cache_stats().entries,
        0,
        "the damaged cache was wiped"
    );
    for id in ids.split(',') {
        let id: EventId = id.parse().unwrap();
        assert_eq!(ok(store.read(id).await).id(), id);
    }
    assert!(store.cache_stats().entries > 0, "the cache works again");
}

/// Fills a cache, damages its data file with `damage`, and opens it in a
/// child process.
async fn rebuilds_after(test: &str, damage: impl Fn(&Path)) {
    let (store, guard) = fresh().await;
    let events = line(&store, DEFAULT_TENANT, 150).await;
    ok(store
        .walk_ancestors(events.last().unwrap().id(), 1000)
        .await);
    assert!(store.cache_stats().entries >= 150);
    drop(store);
    // Background fills of the dropped store may still hold the directory
    // for a moment; the child's open waits for it as any open does.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let file = guard.cache_dir.path().join("data.mdb");
    assert!(std::fs::metadata(&file).unwrap().len() > 10 * PAGE as u64);
    damage(&file);
    let ids: Vec<String> = events.iter().map(|e| e.id().to_string()).collect();
    let spec = format!(
        "{}|{}|{}",
        guard.cache_dir.path().display(),
        guard.database.url(),
        ids.join(",")
    );
    let output = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, spec)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        None,
        "the child was killed by a signal: {stderr}"
    );
    assert!(output.status.success(), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_cache_is_wiped_and_rebuilt() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec).await;
        return;
    }
    rebuilds_after("a_truncated_cache_is_wiped_and_rebuilt", |file| {
        let handle = std::fs::OpenOptions::new().write(true).open(file).unwrap();
        handle.set_len(3 * PAGE as u64).unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_in_the_cache_are_wiped_and_rebuilt() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec).await;
        return;
    }
    let seed = rand::random::<u64>();
    eprintln!("random bytes from seed {seed}");
    rebuilds_after("random_bytes_in_the_cache_are_wiped_and_rebuilt", |file| {
        let mut bytes = std::fs::read(file).unwrap();
        rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut bytes[3 * PAGE..]);
        std::fs::write(file, &bytes).unwrap();
    })
    .await;
}
