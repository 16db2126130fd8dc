//! A private `nats-server` with JetStream syncing every write to disk
//! (`sync_interval: always`): the durability EventDag gives by default,
//! which the machine's server (default: sync on a timer) does not.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use tempfile::TempDir;

use super::child::{free_loopback_addr, ChildGuard};
use super::nats;
use super::workload::Workload;
use super::SystemResult;

/// A running private server; stopped and its store removed when dropped.
struct PrivateServer {
    url: String,
    _server: ChildGuard,
    _dir: TempDir,
}

/// The binary's version line, for messages (`nats-server: v2.9.10`).
fn version(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_default()
}

async fn start(binary: &Path) -> anyhow::Result<PrivateServer> {
    anyhow::ensure!(
        binary.is_file(),
        "nats-server binary missing at {} (Debian package nats-server, or --nats-server PATH)",
        binary.display()
    );
    let dir = tempfile::tempdir().context("a temporary directory")?;
    let addr = free_loopback_addr()?;
    let config = dir.path().join("nats.conf");
    let store = dir.path().join("jetstream");
    std::fs::write(
        &config,
        format!(
            "listen: \"{addr}\"\njetstream {{\n  store_dir: {store:?}\n  sync_interval: always\n}}\n"
        ),
    )
    .context("writing the nats-server config")?;
    let mut command = Command::new(binary);
    command.arg("-c").arg(&config);
    let mut server = ChildGuard::spawn(command, &dir.path().join("nats-server.log"))?;
    server.wait_until_listening(addr).await.with_context(|| {
        format!(
            "{} ({}) with `sync_interval: always` (the option exists from nats-server 2.10 on; \
             --nats-server PATH names another binary)",
            binary.display(),
            version(binary)
        )
    })?;
    Ok(PrivateServer {
        url: format!("nats://{addr}"),
        _server: server,
        _dir: dir,
    })
}

/// Starts the private server from `binary`, measures JetStream on it, and
/// stops it.
pub(super) async fn system(binary: &Path, workload: &Workload) -> SystemResult {
    match start(binary).await {
        Ok(server) => nats::system(&server.url, "PRIVATE", workload).await,
        Err(error) => SystemResult::Unreachable(format!("{error:#}")),
    }
}
