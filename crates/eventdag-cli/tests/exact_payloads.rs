//! The CLI keeps payloads exactly as given (issue 13): `append
//! --payload`, `get`, `export` and `import` carry every number's digits,
//! key order and escapes through unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{eventdag, ok_lines_as};
use eventdag::{Event, RawJson};

const EXACT: &str = r#"{"z":0.9813026452884325,"big":123456789012345678901234567890,"huge":1e400,"cents":1.50,"k":1,"k":2,"s":"\u00e9"}"#;

/// The events a successful run printed, decoded with exact payloads (a
/// `Value` could not even hold `1e400`).
fn events(output: &std::process::Output) -> Vec<Event<RawJson>> {
    ok_lines_as(output)
}

#[test]
fn payloads_survive_append_get_export_and_import_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let spaced = EXACT.replace(',', ", ").replace(':', ": ");
    let appended = events(&eventdag(&source, &["append", "--payload", &spaced]));
    assert_eq!(appended[0].payload.as_str(), EXACT);
    let id = appended[0].id().to_string();
    let read = events(&eventdag(&source, &["get", &id]));
    assert_eq!(read[0].payload.as_str(), EXACT);

    let export = eventdag(&source, &["export"]);
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &export.stdout).unwrap();
    let target = dir.path().join("target");
    let import = eventdag(&target, &["import", file.to_str().unwrap()]);
    assert!(
        import.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    let imported = events(&eventdag(&target, &["get", &id]));
    assert_eq!(imported[0].payload.as_str(), EXACT);
    assert_eq!(imported[0].hash, appended[0].hash);
    let verify = eventdag(&target, &["verify", &id]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
