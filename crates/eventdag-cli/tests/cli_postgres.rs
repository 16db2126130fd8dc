//! The `eventdag` program on PostgreSQL (`--store postgres://…`), against
//! a scratch database created and dropped by this test on the server named
//! by `EVENTDAG_TEST_DATABASE_URL` (default the local one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;

fn admin_url() -> String {
    std::env::var("EVENTDAG_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn psql(sql: &str) {
    let output = Command::new("psql")
        .args([admin_url().as_str(), "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql (postgresql-client) must be installed");
    assert!(
        output.status.success(),
        "{sql}: {} — is PostgreSQL running? start it with `pg_ctlcluster --skip-systemctl-redirect 15 main start`",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A database that exists for one test.
struct ScratchDatabase(String);

impl ScratchDatabase {
    fn new() -> Self {
        let name = format!("eventdag_cli_{}", uuid::Uuid::now_v7().simple());
        psql(&format!("CREATE DATABASE {name}"));
        Self(name)
    }

    fn url(&self) -> String {
        let base = admin_url();
        let cut = base.rfind('/').unwrap();
        format!("{}/{}", &base[..cut], self.0)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

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

#[test]
fn append_walk_ack_and_verify_on_postgres() {
    let database = ScratchDatabase::new();
    let url = database.url();
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
    assert_eq!(eventdag(&url, &["unacked"]).len(), 1);
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
