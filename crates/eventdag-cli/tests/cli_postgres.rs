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

/// Forgetting on PostgreSQL and through the tiered store: redact (the
/// event still verifies), a policy with a dry run and a real run, and a
/// tenant erasure.
#[test]
fn redact_retention_and_tenant_delete_on_postgres_and_tiered() {
    let database = scratch_database();
    let cache = tempfile::tempdir().unwrap();
    let tiered = format!("tiered:{},{}", cache.path().display(), database.url());
    for url in [database.url(), tiered] {
        let old = eventdag(&url, &["append", "--payload", r#"{"secret":1}"#]);
        let old_id = old[0]["id"].as_str().unwrap().to_string();
        let redacted = eventdag(&url, &["redact", &old_id, "--reason", "erase me"]);
        assert_eq!(redacted[0]["payload"], Value::Null);
        assert_eq!(redacted[0]["redaction"]["reason"], "erase me");
        let verified = eventdag(&url, &["verify", &old_id]);
        assert_eq!(verified[0]["redacted"], serde_json::json!([old_id]));
        assert_eq!(verified[0]["first_mismatch"], Value::Null);

        std::thread::sleep(std::time::Duration::from_millis(1_200));
        let young = eventdag(&url, &["append", "--payload", "2"]);
        eventdag(&url, &["retention", "set", "--rule", "max-age=1s"]);
        let dry = eventdag(&url, &["retention", "run", "--dry-run"]);
        let planned: Vec<&str> = dry[0]["plan"]["remove"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["correlation_id"].as_str().unwrap())
            .collect();
        assert!(planned.contains(&old_id.as_str()), "{dry:?}");
        let run = eventdag(&url, &["retention", "run"]);
        assert!(run[0]["report"]["removed_events"].as_u64().unwrap() >= 1);
        eventdag(&url, &["get", young[0]["id"].as_str().unwrap()]);
        eventdag(&url, &["retention", "clear"]);

        let created = eventdag(&url, &["tenant", "create", &format!("leaving-{}", old_id)]);
        let tenant = created[0]["tenant_id"].as_str().unwrap().to_string();
        eventdag(&url, &["append", "--payload", "3", "--tenant", &tenant]);
        let erased = eventdag(&url, &["tenant", "delete", &tenant, "--yes"]);
        assert_eq!(erased[0]["events"], 1);
        assert_eq!(erased[0]["api_keys"], 1);
    }
}
