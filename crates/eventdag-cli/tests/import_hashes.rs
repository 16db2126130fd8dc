//! `eventdag import` checks every line's hash, and the chain of parent
//! hashes, before it stores anything; `--rehash` accepts edited data on
//! purpose; the counts it prints tell imported events from ones already
//! there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{eventdag, id_of, json_lines, ok_lines, stderr};
use serde_json::{json, Value};

/// A store with a root and a child, and its export.
struct Exported {
    dir: tempfile::TempDir,
    root: String,
    child: String,
    lines: Vec<Value>,
}

fn exported() -> Exported {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let root = id_of(
        &ok_lines(&eventdag(
            &source,
            &["append", "--payload", r#"{"amount":10}"#],
        ))[0],
    );
    let child = id_of(
        &ok_lines(&eventdag(
            &source,
            &[
                "append",
                "--payload",
                r#"{"step":"pay"}"#,
                "--parent",
                &root,
            ],
        ))[0],
    );
    let lines = ok_lines(&eventdag(&source, &["export"]));
    assert_eq!(lines.len(), 2);
    Exported {
        dir,
        root,
        child,
        lines,
    }
}

impl Exported {
    /// Writes `lines` as a JSON-lines file; returns its path.
    fn file(&self, name: &str, lines: &[Value]) -> PathBuf {
        let path = self.dir.path().join(name);
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A new, empty target store directory.
    fn target(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn import(target: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    eventdag(target, &args)
}

fn counts(output: &std::process::Output) -> Value {
    json_lines(output).pop().expect("import prints its counts")
}

/// Whether `target` holds `id` (the directory may hold no store at all).
fn holds(target: &Path, id: &str) -> bool {
    eventdag(target, &["get", id]).status.success()
}

#[test]
fn a_line_with_a_wrong_hash_is_refused_and_nothing_is_stored() {
    let source = exported();
    let mut lines = source.lines.clone();
    lines[1]["hash"] = json!("00".repeat(32));
    let file = source.file("wrong-hash.jsonl", &lines);
    let target = source.target("target");
    // A store of its own (on another lane), so that `holds` reads one.
    ok_lines(&eventdag(
        &target,
        &["append", "--payload", "0", "--lane", "9"],
    ));

    let output = import(&target, &file, &[]);
    let message = stderr(&output);
    assert!(!output.status.success(), "a wrong hash imported");
    assert!(
        message.contains("line 2") && message.contains(&source.child),
        "{message}"
    );
    assert_eq!(
        counts(&output),
        json!({"imported": 0, "already_present": 0, "refused": 2})
    );
    assert!(
        !holds(&target, &source.root),
        "nothing of the file is stored"
    );
}

#[test]
fn an_edited_payload_that_kept_its_hash_is_refused() {
    let source = exported();
    let mut lines = source.lines.clone();
    lines[0]["payload"] = json!({"amount": 10_000});
    let file = source.file("edited.jsonl", &lines);
    let target = source.target("target");

    let output = import(&target, &file, &[]);
    let message = stderr(&output);
    assert!(!output.status.success(), "an edited payload imported");
    assert!(
        message.contains("line 1") && message.contains(&source.root),
        "{message}"
    );
    assert!(!holds(&target, &source.root));
    assert!(!holds(&target, &source.child));
}

/// Re-sealing an edited root with a hash of its own is not enough: the
/// child's hash covers the parent's original hash.
#[test]
fn a_resealed_parent_breaks_the_chain_below_it() {
    let source = exported();
    let mut edited = source.lines.clone();
    edited[0]["payload"] = json!({"amount": 10_000});
    // Seal the edited root as the store would: import it alone with
    // --rehash somewhere else and take the hash it got.
    let scratch = source.target("scratch");
    let root_only = source.file("root-only.jsonl", &edited[..1]);
    assert!(import(&scratch, &root_only, &["--rehash"]).status.success());
    let resealed = &ok_lines(&eventdag(&scratch, &["get", &source.root]))[0];
    assert_ne!(resealed["hash"], source.lines[0]["hash"]);
    edited[0]["hash"] = resealed["hash"].clone();

    let file = source.file("resealed.jsonl", &edited);
    let target = source.target("target");
    let output = import(&target, &file, &[]);
    let message = stderr(&output);
    assert!(!output.status.success(), "a broken chain imported");
    assert!(
        message.contains("line 2") && message.contains(&source.child),
        "{message}"
    );
    assert!(
        !message.contains("line 1:"),
        "the root itself is sealed: {message}"
    );
    assert!(!holds(&target, &source.root));

    // A parent already in the target is checked with its stored hash: the
    // child of the original root does not chain to the resealed one.
    let child_only = source.file("child-only.jsonl", &source.lines[1..]);
    let output = import(&scratch, &child_only, &[]);
    let message = stderr(&output);
    assert!(
        !output.status.success(),
        "the child chained to a changed parent"
    );
    assert!(
        message.contains("line 1") && message.contains(&source.child),
        "{message}"
    );
}

#[test]
fn rehash_accepts_edited_data_and_seals_it_again() {
    let source = exported();
    let mut lines = source.lines.clone();
    lines[0]["payload"] = json!({"amount": 10_000});
    let file = source.file("edited.jsonl", &lines);
    let target = source.target("target");

    let output = import(&target, &file, &["--rehash"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        counts(&output),
        json!({"imported": 2, "already_present": 0, "refused": 0})
    );
    let root = &ok_lines(&eventdag(&target, &["get", &source.root]))[0];
    assert_eq!(root["payload"]["amount"], 10_000);
    assert_ne!(root["hash"], source.lines[0]["hash"], "sealed again");
    let verified = ok_lines(&eventdag(&target, &["verify"]));
    assert!(verified[1]["first_mismatch"].is_null(), "{verified:?}");
}

#[test]
fn counts_tell_imported_events_from_ones_already_present() {
    let source = exported();
    let target = source.target("target");
    let root_only = source.file("root.jsonl", &source.lines[..1]);
    let output = import(&target, &root_only, &[]);
    assert_eq!(
        counts(&output),
        json!({"imported": 1, "already_present": 0, "refused": 0})
    );

    let both = source.file("both.jsonl", &source.lines);
    let output = import(&target, &both, &["--batch", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        counts(&output),
        json!({"imported": 1, "already_present": 1, "refused": 0})
    );
    let output = import(&target, &both, &[]);
    assert_eq!(
        counts(&output),
        json!({"imported": 0, "already_present": 2, "refused": 0})
    );
    let copy = ok_lines(&eventdag(&target, &["chain", &source.root]));
    assert_eq!(copy, source.lines, "same events and hashes");
}

#[test]
fn a_refused_import_leaves_no_new_store_behind() {
    let source = exported();
    let mut lines = source.lines.clone();
    lines[0]["hash"] = json!("00".repeat(32));
    let file = source.file("refused.jsonl", &lines);

    let missing = source.target("missing");
    assert!(!import(&missing, &file, &[]).status.success());
    assert!(!missing.exists(), "a refused import created {missing:?}");

    let empty = source.target("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(!import(&empty, &file, &[]).status.success());
    let left: Vec<_> = std::fs::read_dir(&empty).unwrap().collect();
    assert!(left.is_empty(), "a refused import left {left:?}");
}

/// A file the previous release exported (every line hashed under version
/// 1, no `hash_version` field) imports; the store seals it under the
/// current version, and an edited line of it is still refused.
#[test]
fn a_file_exported_by_the_previous_release_imports() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-export.jsonl");
    let text = std::fs::read_to_string(&fixture).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|line| line.get("hash_version").is_none()));
    let dir = tempfile::tempdir().unwrap();

    let mut edited = lines.clone();
    edited[2]["payload"]["step"] = json!("changed");
    let edited_file = dir.path().join("edited.jsonl");
    let edited_text: String = edited.iter().map(|line| format!("{line}\n")).collect();
    std::fs::write(&edited_file, edited_text).unwrap();
    let refused_target = dir.path().join("refused");
    let output = import(&refused_target, &edited_file, &[]);
    assert!(
        !output.status.success(),
        "an edited version-1 line imported"
    );
    assert!(
        stderr(&output).contains("does not match its hash"),
        "{}",
        stderr(&output)
    );

    let target = dir.path().join("target");
    let output = import(&target, &fixture, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        counts(&output),
        json!({"imported": 4, "already_present": 0, "refused": 0})
    );
    let root = lines[0]["id"].as_str().unwrap();
    let stored = &ok_lines(&eventdag(&target, &["get", root]))[0];
    assert_eq!(stored["hash_version"], json!(2));
    assert_eq!(stored["payload"], lines[0]["payload"]);
    let verified = &ok_lines(&eventdag(&target, &["verify", "--chain", root]))[0];
    assert_eq!(verified["checked"], json!(4));
    assert_eq!(verified["first_mismatch"], Value::Null);
}

/// An export holding a redacted event imports: the line is checked
/// against the payload hash its mark kept, stored without the payload and
/// redacted again with its reason; the chain verifies.
#[test]
fn a_redacted_event_exports_and_imports_redacted() {
    let exported = exported();
    let source = exported.dir.path().join("source");
    assert!(eventdag(
        &source,
        &["redact", &exported.root, "--reason", "GDPR request 7"]
    )
    .status
    .success());
    let lines = ok_lines(&eventdag(&source, &["export"]));
    assert_eq!(lines[0]["redaction"]["reason"], json!("GDPR request 7"));
    assert_eq!(lines[0]["payload"], Value::Null);
    let file = exported.file("redacted.jsonl", &lines);
    let target = exported.target("target");
    let output = import(&target, &file, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let root = &ok_lines(&eventdag(&target, &["get", &exported.root]))[0];
    assert_eq!(root["redaction"]["reason"], json!("GDPR request 7"));
    assert_eq!(root["payload"], Value::Null);
    assert!(holds(&target, &exported.child));
    let verified = &ok_lines(&eventdag(&target, &["verify", "--chain", &exported.root]))[0];
    assert_eq!(verified["first_mismatch"], Value::Null);
    assert_eq!(verified["redacted"], json!([exported.root]));

    // An edited redaction mark no longer matches the hash.
    let mut edited = lines.clone();
    edited[0]["redaction"]["payload_hash"] = json!("00".repeat(32));
    let edited_file = exported.file("edited-mark.jsonl", &edited);
    let output = import(&exported.target("refused"), &edited_file, &[]);
    assert!(!output.status.success(), "an edited mark imported");
}
