//! Where the embedded store is, and who may open it: read commands never
//! create a store and work beside a running server; no command creates a
//! store in a directory that holds other files; a regular file as
//! `--data` gets one clear message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{eventdag, id_of, ok_lines, stderr, Server};

/// A v7 id that no store holds.
const UNKNOWN: &str = "01890000-0000-7000-8000-000000000000";

/// Every command that only reads, with arguments.
fn read_commands(id: &str) -> Vec<Vec<String>> {
    let commands: [&[&str]; 9] = [
        &["get", id],
        &["ancestors", id],
        &["descendants", id],
        &["chain", id],
        &["unacked"],
        &["signal", id],
        &["verify"],
        &["export"],
        &["tenant", "list"],
    ];
    commands
        .iter()
        .map(|args| args.iter().map(ToString::to_string).collect())
        .collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn read_commands_on_a_missing_directory_fail_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-store");
    for args in read_commands(UNKNOWN) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = eventdag(&missing, &args);
        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(
            message.contains("does not exist") && message.contains("no-such-store"),
            "{args:?}: {message}"
        );
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}

#[test]
fn read_commands_on_an_empty_directory_fail_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for args in read_commands(UNKNOWN) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = eventdag(dir.path(), &args);
        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(message.contains("empty"), "{args:?}: {message}");
        assert!(names_in(dir.path()).is_empty(), "{args:?} wrote files");
    }
    // The first write creates the store there: what users expect of the
    // default ./eventdag-data.
    let root = &ok_lines(&eventdag(dir.path(), &["append", "--payload", "1"]))[0];
    ok_lines(&eventdag(dir.path(), &["get", &id_of(root)]));
}

#[test]
fn no_command_creates_a_store_in_a_directory_holding_other_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let events = tempfile::NamedTempFile::new().unwrap();
    let file = events.path().to_str().unwrap().to_string();
    let mut commands = read_commands(UNKNOWN);
    for args in [
        vec!["append", "--payload", "1"],
        vec!["import", &file],
        vec!["ack", UNKNOWN],
        vec!["tenant", "create", "acme"],
        // Not loopback: before any store is opened right, a mistake here
        // must not leave a server running.
        vec!["serve", "--addr", "0.0.0.0:0"],
    ] {
        commands.push(args.iter().map(ToString::to_string).collect());
    }
    for args in commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = eventdag(dir.path(), &args);
        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(
            message.contains("other files") && message.contains("notes.txt"),
            "{args:?}: {message}"
        );
        assert_eq!(
            names_in(dir.path()),
            vec!["notes.txt"],
            "{args:?} wrote files"
        );
    }
}

#[test]
fn a_regular_file_as_data_is_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "not a store").unwrap();
    for args in [vec!["get", UNKNOWN], vec!["append", "--payload", "1"]] {
        let output = eventdag(&file, &args);
        let message = stderr(&output);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(message.contains("not a directory"), "{args:?}: {message}");
        assert!(
            message.matches("os error").count() <= 1 && !message.contains("File exists"),
            "{args:?}: one cause, said once: {message}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a store");
    }
}

#[test]
fn read_commands_work_beside_a_running_server_and_writes_say_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let root = &ok_lines(&eventdag(&data, &["append", "--payload", r#"{"n":1}"#]))[0];
    let root_id = id_of(root);
    let server = Server::start(&data);

    // A write through the server is seen by a reader in another process.
    let body = format!(r#"{{"payload": {{"n": 2}}, "parents": ["{root_id}"]}}"#);
    let response = server.request("POST", "/v1/events", Some(&body)).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let child = &ok_lines(&eventdag(&data, &["descendants", &root_id]))[1];
    assert_eq!(child["payload"]["n"], 2);
    let child_id = id_of(child);

    let got = &ok_lines(&eventdag(&data, &["get", &child_id]))[0];
    assert_eq!(got["parents"][0].as_str().unwrap(), root_id);
    let verify = ok_lines(&eventdag(&data, &["verify"]));
    assert_eq!(verify[0]["problem_count"], 0, "{verify:?}");
    assert_eq!(verify[1]["checked"], 2, "{verify:?}");
    let exported = ok_lines(&eventdag(&data, &["export"]));
    assert_eq!(exported.len(), 2);

    let refused = eventdag(&data, &["append", "--payload", "3"]);
    let message = stderr(&refused);
    assert!(!refused.status.success());
    assert!(
        message.contains("in use") && message.contains("HTTP"),
        "a write beside the server says where writes go: {message}"
    );
    server.stop();
    ok_lines(&eventdag(&data, &["append", "--payload", "3"]));
}
