//! A PostgreSQL cluster of a test's own (initdb/pg_ctl run as the
//! `postgres` user through `runuser`, in a temporary directory, on a free
//! port), so that fault tests can stop and restart a server without
//! touching the shared one. Needs root and the PostgreSQL 15 binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL cluster of a test's own; stopped and deleted on drop.
pub struct PrivateCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn as_postgres(program: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {program:?} as postgres via runuser ({err}); this test needs root and PostgreSQL 15 binaries"));
    output
}

impl PrivateCluster {
    /// Creates and starts the cluster (`EVENTDAG_PG_BIN` names the
    /// PostgreSQL binaries, default `/usr/lib/postgresql/15/bin`).
    #[must_use]
    pub fn create() -> Self {
        let bin = PathBuf::from(
            std::env::var("EVENTDAG_PG_BIN")
                .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()),
        );
        assert!(
            bin.join("initdb").exists(),
            "no initdb in {bin:?}: install postgresql-15 or set EVENTDAG_PG_BIN"
        );
        let dir = tempfile::Builder::new()
            .prefix("eventdag-pg-")
            .tempdir()
            .unwrap();
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "chown to postgres failed");
        let data = dir.path().join("data");
        let out = as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = Self { bin, dir, port };
        pg.start();
        pg
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let data = self.dir.path().join("data");
        let mut all = vec!["-D", data.to_str().unwrap()];
        all.extend_from_slice(args);
        let all: Vec<String> = all.into_iter().map(str::to_owned).collect();
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        as_postgres(&self.bin.join("pg_ctl"), &all)
    }

    /// Starts the cluster and waits until it accepts connections.
    pub fn start(&self) {
        let log = self.dir.path().join("log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let out = self.pg_ctl(&["-l", log.to_str().unwrap(), "-o", &options, "-w", "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the cluster with `pg_ctl -m mode` (`fast`, `immediate`).
    pub fn stop(&self, mode: &str) {
        let out = self.pg_ctl(&["-m", mode, "-w", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of its `postgres` database.
    #[must_use]
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }
}
