//! The `eventdag` program on PostgreSQL (`--store postgres://…`), against
//! a scratch database created and dropped by this test on the server named
//! by `EVENTDAG_TEST_DATABASE_URL` (default the local one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use eventdag_postgres::test_support::ScratchDatabase;

use serde_json::Value;

fn eventdag(url: &str, args: &[&str]) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .args(["--store", url])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn scratch_database() -> ScratchDatabase {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(ScratchDatabase::create())
}

/// The same commands on PostgreSQL directly and through the tiered store
/// (an LMDB cache in front of the same database).
#[test]
fn append_walk_ack_and_verify_on_postgres_and_tiered() {
    let database = scratch_database();
    let cache = tempfile::tempdir().unwrap();
    let tiered = format!("tiered:{},{}", cache.path().display(), database.url());
    for url in [database.url(), tiered] {
        session(&url);
    }
}

fn session(url: &str) {
    let url = url.to_string();
    let root = eventdag(&url, &["append", "--payload", r#"{"on":"postgres"}"#]);
    let root_id = root[0]["id"].as_str().unwrap().to_string();
    let child = eventdag(
        &url,
        &[
            "append",
            "--payload",
            "2",
            "--parent",
            &root_id,
            "--flags",
            "REQUIRES_ACK",
        ],
    );
    let child_id = child[0]["id"].as_str().unwrap().to_string();
    let walked = eventdag(&url, &["ancestors", &child_id]);
    let walked: Vec<String> = walked
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(walked, vec![child_id.clone(), root_id.clone()]);
    let unacked = eventdag(&url, &["unacked"]);
    assert_eq!(unacked.len(), 1);
    assert_eq!(unacked[0]["id"].as_str().unwrap(), child_id);
    eventdag(&url, &["ack", &child_id, "--upstream"]);
    assert!(eventdag(&url, &["unacked"]).is_empty());
    let verified = eventdag(&url, &["verify", "--chain", &root_id]);
    assert_eq!(verified[0]["checked"], 2);
    assert!(verified[0]["first_mismatch"].is_null());
}

#[test]
fn a_wrong_password_is_not_printed() {
    let output = Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .args([
            "--store",
            "postgres://nobody:hunter2@127.0.0.1:1/none",
            "unacked",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect to PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
