//! The `eventdag` program on the embedded store, run as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn eventdag(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("EVENTDAG_STORE")
        .output()
        .expect("run eventdag")
}

fn ok_lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "eventdag failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

#[test]
fn append_get_walk_chain_ack_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let root = &ok_lines(&eventdag(
        &data,
        &["append", "--payload", r#"{"step":"plan"}"#],
    ))[0];
    let root_id = id_of(root);
    assert_eq!(root["position"]["depth"], 0);
    let child = &ok_lines(&eventdag(
        &data,
        &[
            "append",
            "--payload",
            r#"{"step":"act"}"#,
            "--parent",
            &root_id,
            "--flags",
            "requires_ack",
            "--kind",
            "0x4001",
        ],
    ))[0];
    let child_id = id_of(child);
    assert_eq!(child["kind"], 0x4001);
    assert_eq!(child["correlation_id"].as_str().unwrap(), root_id);

    let got = &ok_lines(&eventdag(&data, &["get", &child_id]))[0];
    assert_eq!(got["payload"]["step"], "act");
    let ancestors: Vec<String> = ok_lines(&eventdag(&data, &["ancestors", &child_id]))
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ancestors, vec![child_id.clone(), root_id.clone()]);
    let descendants: Vec<String> = ok_lines(&eventdag(&data, &["descendants", &root_id]))
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(descendants, vec![root_id.clone(), child_id.clone()]);
    let chain: Vec<String> = ok_lines(&eventdag(&data, &["chain", &root_id]))
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(chain, vec![root_id.clone(), child_id.clone()]);

    let unacked: Vec<String> = ok_lines(&eventdag(&data, &["unacked"]))
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(unacked, vec![child_id.clone()]);
    ok_lines(&eventdag(&data, &["ack", &child_id, "--upstream"]));
    assert!(ok_lines(&eventdag(&data, &["unacked"])).is_empty());
    let signals = ok_lines(&eventdag(&data, &["signal", &root_id]));
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0]["signal"]["type"], "ack");

    let verify = ok_lines(&eventdag(&data, &["verify"]));
    assert_eq!(
        verify[0]["problem_count"], 0,
        "indexes agree with the events"
    );
    let verified = &verify[1];
    assert_eq!(verified["checked"], 2);
    assert!(verified["first_mismatch"].is_null());

    let table = eventdag(&data, &["--pretty", "chain", &root_id]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.lines().next().unwrap().starts_with("id"), "{text}");
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn cancel_signal_refuses_later_appends() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let root_id = id_of(&ok_lines(&eventdag(&data, &["append", "--payload", "1"]))[0]);
    let cancel =
        format!(r#"{{"type":"cancel","correlation_id":"{root_id}","reason":"operator stop"}}"#);
    ok_lines(&eventdag(&data, &["signal", &root_id, &cancel]));
    let refused = eventdag(&data, &["append", "--payload", "2", "--parent", &root_id]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cancelled") && stderr.contains("operator stop"),
        "{stderr}"
    );
}

#[test]
fn export_then_import_reproduces_the_store_and_dot_draws_edges() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let root_id = id_of(&ok_lines(&eventdag(&source, &["append", "--payload", r#"{"a":1}"#]))[0]);
    let left = id_of(
        &ok_lines(&eventdag(
            &source,
            &["append", "--payload", "2", "--parent", &root_id],
        ))[0],
    );
    let right = id_of(
        &ok_lines(&eventdag(
            &source,
            &[
                "append",
                "--payload",
                "3",
                "--parent",
                &root_id,
                "--lane",
                "1",
            ],
        ))[0],
    );
    let merge = id_of(
        &ok_lines(&eventdag(
            &source,
            &[
                "append",
                "--payload",
                "4",
                "--parent",
                &left,
                "--parent",
                &right,
            ],
        ))[0],
    );

    let file = dir.path().join("events.jsonl");
    let exported = eventdag(&source, &["export", "--out", file.to_str().unwrap()]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 4);

    let target = dir.path().join("target");
    let imported = &ok_lines(&eventdag(
        &target,
        &["import", file.to_str().unwrap(), "--batch", "3"],
    ))[0];
    assert_eq!(imported["imported"], 4);
    let original = ok_lines(&eventdag(&source, &["chain", &root_id]));
    let copy = ok_lines(&eventdag(&target, &["chain", &root_id]));
    assert_eq!(copy, original, "same events, positions and hashes");

    let dot = eventdag(&target, &["export", "--format", "dot"]);
    let text = String::from_utf8(dot.stdout).unwrap();
    assert!(text.starts_with("digraph eventdag {"), "{text}");
    for (from, to) in [
        (&root_id, &left),
        (&root_id, &right),
        (&left, &merge),
        (&right, &merge),
    ] {
        assert!(
            text.contains(&format!("\"{from}\" -> \"{to}\"")),
            "edge {from} -> {to} missing:\n{text}"
        );
    }
}

#[test]
fn import_reports_the_bad_line_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let root_id = id_of(&ok_lines(&eventdag(&source, &["append", "--payload", "1"]))[0]);
    ok_lines(&eventdag(
        &source,
        &["append", "--payload", "2", "--parent", &root_id],
    ));
    let file = dir.path().join("events.jsonl");
    assert!(
        eventdag(&source, &["export", "--out", file.to_str().unwrap()])
            .status
            .success()
    );
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("{\"payload\": 3, \"parents\": [\"not-a-uuid\"]}\n");
    std::fs::write(&file, text).unwrap();

    let target = dir.path().join("target");
    let failed = eventdag(&target, &["import", file.to_str().unwrap()]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(
        eventdag(&target, &["get", &root_id]).status.code() != Some(0),
        "nothing imported"
    );

    // A file the store refuses (a child whose parent is missing) names the line.
    let orphan_file = dir.path().join("orphan.jsonl");
    let lines = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&orphan_file, lines.lines().nth(1).unwrap()).unwrap();
    let refused = eventdag(&target, &["import", orphan_file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("line 1") && stderr.contains("parent"),
        "{stderr}"
    );
}

#[test]
fn bad_input_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let cases: [(&[&str], &str); 5] = [
        (&["get", "not-a-uuid"], "invalid"),
        (&["append", "--payload", "{oops"], "not valid JSON"),
        (
            &["append", "--payload", "1", "--kind", "70000"],
            "0 to 65535",
        ),
        (
            &["append", "--payload", "1", "--flags", "urgent"],
            "REQUIRES_ACK",
        ),
        (
            &["get", "01890000-0000-7000-8000-000000000000"],
            "not found",
        ),
    ];
    for (args, expected) in cases {
        let output = eventdag(&data, args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn tenants_and_keys_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let created = &ok_lines(&eventdag(&data, &["tenant", "create", "acme"]))[0];
    assert_eq!(created["name"], "acme");
    let key = created["api_key"].as_str().unwrap().to_string();
    let tenant_id = created["tenant_id"].as_str().unwrap().to_string();
    let listed = ok_lines(&eventdag(&data, &["tenant", "list"]));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["tenant_id"].as_str().unwrap(), tenant_id);
    let prefix = listed[0]["keys"][0]["prefix"].as_str().unwrap().to_string();
    assert!(
        key.contains(&prefix),
        "the key {key} carries its prefix {prefix}"
    );
    assert!(
        !std::fs::read_dir(&data).unwrap().any(|entry| {
            std::fs::read(entry.unwrap().path())
                .is_ok_and(|bytes| bytes.windows(key.len()).any(|w| w == key.as_bytes()))
        }),
        "the plaintext key is never stored"
    );
    let duplicate = eventdag(&data, &["tenant", "create", "acme"]);
    assert!(!duplicate.status.success());
    ok_lines(&eventdag(&data, &["key", "revoke", &prefix]));
    assert_eq!(
        ok_lines(&eventdag(&data, &["tenant", "list"]))[0]["keys"][0]["revoked"],
        true
    );
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--addr", &addr])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(mut stream) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read, Write};
            write!(
                stream,
                "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            answered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(answered, "the server never answered on {addr}");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits 0 after SIGTERM: {status:?}");
    // The store was closed cleanly: it opens again at once.
    ok_lines(&eventdag(&data, &["unacked"]));
}

#[test]
fn serve_refuses_a_public_address_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let output = eventdag(&dir.path().join("store"), &["serve", "--addr", "0.0.0.0:0"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("loopback") || stderr.contains("API key"),
        "{stderr}"
    );
}

/// Acknowledged events export with ACKNOWLEDGED set; no caller may append
/// that flag, so `import` appends without it and acknowledges again: the
/// copy reads exactly as the original.
#[test]
fn import_restores_acknowledgments() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let root_id = id_of(
        &ok_lines(&eventdag(
            &source,
            &["append", "--payload", "1", "--flags", "requires_ack"],
        ))[0],
    );
    let acked = eventdag(&source, &["ack", &root_id]);
    assert!(
        acked.status.success(),
        "{}",
        String::from_utf8_lossy(&acked.stderr)
    );
    let file = dir.path().join("events.jsonl");
    let exported = eventdag(&source, &["export", "--out", file.to_str().unwrap()]);
    assert!(exported.status.success());
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("ACKNOWLEDGED"));

    let target = dir.path().join("target");
    let imported = &ok_lines(&eventdag(&target, &["import", file.to_str().unwrap()]))[0];
    assert_eq!(imported["imported"], 1);
    let original = ok_lines(&eventdag(&source, &["chain", &root_id]));
    let copy = ok_lines(&eventdag(&target, &["chain", &root_id]));
    assert_eq!(copy[0]["acknowledged"], true);
    assert_eq!(copy, original, "same flags and hashes");
}

fn failed_with(output: &Output, says: &str) {
    assert!(!output.status.success(), "should have failed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

#[test]
fn redact_removes_the_payload_and_verify_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let root = &ok_lines(&eventdag(
        &data,
        &["append", "--payload", r#"{"email":"ada@example.com"}"#],
    ))[0];
    let root_id = id_of(root);
    let child = &ok_lines(&eventdag(
        &data,
        &["append", "--payload", r#"{"step":2}"#, "--parent", &root_id],
    ))[0];
    let redacted = &ok_lines(&eventdag(
        &data,
        &["redact", &root_id, "--reason", "GDPR request 17"],
    ))[0];
    assert_eq!(redacted["payload"], Value::Null);
    assert_eq!(redacted["redaction"]["reason"], "GDPR request 17");
    assert_eq!(redacted["hash"], root["hash"]);
    let got = &ok_lines(&eventdag(&data, &["get", &root_id]))[0];
    assert_eq!(got, redacted);
    let pretty = eventdag(&data, &["--pretty", "get", &root_id]);
    let table = String::from_utf8_lossy(&pretty.stdout);
    assert!(table.contains("[redacted: GDPR request 17]"), "{table}");
    assert!(!table.contains("ada@example.com"), "{table}");

    let one = &ok_lines(&eventdag(&data, &["verify", &root_id]))[0];
    assert_eq!(one["first_mismatch"], Value::Null);
    assert_eq!(one["redacted"], serde_json::json!([root_id]));
    let chain = &ok_lines(&eventdag(&data, &["verify", "--chain", &root_id]))[0];
    assert_eq!(chain["checked"], 2);
    assert_eq!(chain["redacted"], serde_json::json!([root_id]));
    assert_eq!(chain["unverifiable"], serde_json::json!([]));
    let _ = child;

    failed_with(
        &eventdag(&data, &["redact", &root_id, "--reason", ""]),
        "reason",
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    failed_with(
        &eventdag(&data, &["redact", &unknown, "--reason", "x"]),
        "not found",
    );
}

#[test]
fn retention_set_show_run_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let old = &ok_lines(&eventdag(&data, &["append", "--payload", r#"{"old":1}"#]))[0];
    let old_child = &ok_lines(&eventdag(
        &data,
        &[
            "append",
            "--payload",
            r#"{"old":2}"#,
            "--parent",
            &id_of(old),
        ],
    ))[0];
    let noted = &ok_lines(&eventdag(
        &data,
        &["append", "--payload", r#"{"note":1}"#, "--kind", "7"],
    ))[0];
    // Older than the one-second rule below.
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let young = &ok_lines(&eventdag(&data, &["append", "--payload", r#"{"young":1}"#]))[0];

    failed_with(
        &eventdag(&data, &["retention", "show"]),
        "no retention policy",
    );
    failed_with(&eventdag(&data, &["retention", "set"]), "at least one rule");
    failed_with(
        &eventdag(&data, &["retention", "set", "--rule", "kind=1"]),
        "max-age is required",
    );
    let set = &ok_lines(&eventdag(
        &data,
        &[
            "retention",
            "set",
            "--max-age",
            "30d",
            "--kind",
            "7",
            "--rule",
            "max-age=1s",
        ],
    ))[0];
    let policy = serde_json::json!({"rules": [
        {"kind": 7, "max_age_seconds": 30 * 86_400},
        {"kind": null, "max_age_seconds": 1},
    ]});
    assert_eq!(set["policy"], policy);
    let shown = &ok_lines(&eventdag(&data, &["retention", "show"]))[0];
    assert_eq!(shown["policy"], policy);
    let all = ok_lines(&eventdag(&data, &["retention", "show", "--all"]));
    assert_eq!(all.len(), 1);

    let dry = &ok_lines(&eventdag(&data, &["retention", "run", "--dry-run"]))[0];
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["report"], Value::Null);
    let planned: Vec<&str> = dry["plan"]["remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["correlation_id"].as_str().unwrap())
        .collect();
    assert_eq!(planned, vec![id_of(old)], "the kind-7 chain keeps 30 days");
    ok_lines(&eventdag(&data, &["get", &id_of(old)]));

    let archive = dir.path().join("removed.jsonl");
    let archive_text = archive.to_str().unwrap();
    let run = &ok_lines(&eventdag(
        &data,
        &["retention", "run", "--archive", archive_text],
    ))[0];
    assert_eq!(run["report"]["removed_chains"], 1);
    assert_eq!(run["report"]["removed_events"], 2);
    assert_eq!(run["archive"], archive_text);
    let archived: Vec<Value> = std::fs::read_to_string(&archive)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let archived_ids: Vec<String> = archived.iter().map(id_of).collect();
    assert_eq!(archived_ids, vec![id_of(old), id_of(old_child)]);
    assert_eq!(archived[0]["payload"], serde_json::json!({"old": 1}));
    failed_with(&eventdag(&data, &["get", &id_of(old)]), "not found");
    ok_lines(&eventdag(&data, &["get", &id_of(young)]));
    ok_lines(&eventdag(&data, &["get", &id_of(noted)]));
    let all_run = ok_lines(&eventdag(&data, &["retention", "run", "--all"]));
    assert_eq!(all_run[0]["report"]["removed_chains"], 0);

    let cleared = &ok_lines(&eventdag(&data, &["retention", "clear"]))[0];
    assert_eq!(cleared["cleared"], true);
    failed_with(
        &eventdag(&data, &["retention", "run"]),
        "no retention policy",
    );
}

#[test]
fn tenant_delete_needs_yes_and_erases_the_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let created = &ok_lines(&eventdag(&data, &["tenant", "create", "leaving"]))[0];
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let event = &ok_lines(&eventdag(
        &data,
        &["append", "--payload", "1", "--tenant", &tenant],
    ))[0];
    let stays = &ok_lines(&eventdag(&data, &["append", "--payload", "2"]))[0];
    failed_with(&eventdag(&data, &["tenant", "delete", "leaving"]), "--yes");
    ok_lines(&eventdag(&data, &["get", &id_of(event)]));
    failed_with(
        &eventdag(&data, &["tenant", "delete", "nobody", "--yes"]),
        "no tenant is named",
    );
    let erased = &ok_lines(&eventdag(&data, &["tenant", "delete", "leaving", "--yes"]))[0];
    assert_eq!(
        erased,
        &serde_json::json!({"tenant_id": tenant, "events": 1, "api_keys": 1, "registered": true})
    );
    failed_with(&eventdag(&data, &["get", &id_of(event)]), "not found");
    ok_lines(&eventdag(&data, &["get", &id_of(stays)]));
    let tenants = ok_lines(&eventdag(&data, &["tenant", "list"]));
    assert!(tenants.iter().all(|t| t["tenant_id"] != tenant.as_str()));
}

#[test]
fn compact_writes_a_copy_without_redacted_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let secret = "payload-secret-4f1c9e";
    let event = &ok_lines(&eventdag(
        &data,
        &["append", "--payload", &format!(r#"{{"s":"{secret}"}}"#)],
    ))[0];
    ok_lines(&eventdag(
        &data,
        &["redact", &id_of(event), "--reason", "gone"],
    ));
    let copy = dir.path().join("copy");
    let done = &ok_lines(&eventdag(
        &data,
        &["compact", "--to", copy.to_str().unwrap()],
    ))[0];
    assert_eq!(done["compacted_into"], copy.to_str().unwrap());
    let bytes = std::fs::read(copy.join("data.mdb")).unwrap();
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the copy holds no byte of the redacted payload"
    );
    let read = &ok_lines(&eventdag(&copy, &["get", &id_of(event)]))[0];
    assert_eq!(read["redaction"]["reason"], "gone");
    failed_with(
        &eventdag(&data, &["compact", "--to", copy.to_str().unwrap()]),
        "not empty",
    );
    let memory = Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .args(["--store", "memory:", "compact", "--to"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    failed_with(&memory, "embedded store only");
}
