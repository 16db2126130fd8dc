//! `eventdag bench --peers` at the smallest scale, run as a user would:
//! a row for every system, figures where nothing outside this program is
//! needed, and no store left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// The systems' labels, as the table prints them.
const SYSTEMS: [&str; 7] = [
    "EventDag embedded (LMDB)",
    "EventDag over HTTP (serve, LMDB)",
    "EventDag on PostgreSQL",
    "JetStream (machine server, default sync)",
    "JetStream (private, sync_interval: always)",
    "PostgreSQL direct (sqlx)",
    "SQLite (WAL, synchronous=FULL)",
];

/// Systems that need nothing but this program and a temporary directory,
/// so they must always be measured.
const SELF_CONTAINED: [&str; 3] = [
    "EventDag embedded (LMDB)",
    "EventDag over HTTP (serve, LMDB)",
    "SQLite (WAL, synchronous=FULL)",
];

const ROWS: [&str; 6] = [
    "sequential durable append",
    "16 concurrent appenders",
    "16 appenders, 16 tenants",
    "batch of 1,000 per commit",
    "read by id",
    "100 most recent before an event",
];

/// The table's cells of every line of `system`.
fn lines_of<'a>(table: &'a str, system: &str) -> Vec<Vec<&'a str>> {
    table
        .lines()
        .filter(|line| line.starts_with(&format!("| {system} |")))
        .map(|line| line.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect()
}

fn ops_per_second(cells: &[&str]) -> f64 {
    cells[3].replace(',', "").parse().unwrap_or(0.0)
}

#[test]
fn every_system_has_a_row_and_the_self_contained_ones_have_figures() {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_eventdag"));
    command
        .current_dir(cwd.path())
        .args(["bench", "--peers", "--scale", "0.001"])
        .env_remove("EVENTDAG_STORE")
        .env_remove("EVENTDAG_DATA");
    if let Ok(url) = std::env::var("EVENTDAG_TEST_DATABASE_URL") {
        command.args(["--postgres-url", &url]);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    for system in SYSTEMS {
        let lines = lines_of(&stdout, system);
        let unreachable = lines.len() == 1 && lines[0][8].starts_with("unreachable: ");
        assert!(
            unreachable || lines.len() == ROWS.len(),
            "{system}: expected {} rows or one unreachable line:\n{stdout}",
            ROWS.len()
        );
        if SELF_CONTAINED.contains(&system) {
            assert!(!unreachable, "{system} needs nothing outside:\n{stdout}");
        }
        if !unreachable {
            for (cells, row) in lines.iter().zip(ROWS) {
                assert_eq!(cells[1], row, "{stdout}");
                if SELF_CONTAINED.contains(&system) {
                    assert!(ops_per_second(cells) > 0.0, "{system}, {row}:\n{stdout}");
                    assert!(
                        !cells[8].starts_with("failed"),
                        "{system}, {row}:\n{stdout}"
                    );
                }
            }
        }
    }
    // The reference's own ratio, and someone else's against it.
    let embedded = lines_of(&stdout, SYSTEMS[0]);
    assert!(
        embedded.iter().all(|cells| cells[7] == "1 (reference)"),
        "{stdout}"
    );
    let http = lines_of(&stdout, SYSTEMS[1]);
    assert!(http.iter().all(|cells| cells[7].ends_with('×')), "{stdout}");
    // The bench made its own stores and removed them: none in the
    // working directory (the default ./eventdag-data is not opened).
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}
