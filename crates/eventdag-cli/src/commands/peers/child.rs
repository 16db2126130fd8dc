//! Servers the bench starts itself: a free loopback port, a child process
//! that is killed whatever happens, and waiting until it listens.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// How long a started server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A loopback address no one listens on right now. Another process could
/// take it before the child binds it; the child's start then fails and is
/// reported, which is good enough for a benchmark.
pub(super) fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    listener.local_addr().context("finding a free port")
}

/// A child process killed (SIGKILL) and reaped when dropped, so that no
/// server outlives the bench, also when a row fails.
pub(super) struct ChildGuard {
    child: Child,
    log: std::path::PathBuf,
}

impl ChildGuard {
    /// Starts `command` with its standard error (and output) in `log`.
    pub(super) fn spawn(mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().context("sharing the log file")?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {:?}", command.get_program()))?;
        Ok(Self {
            child,
            log: log.to_path_buf(),
        })
    }

    /// Waits until the child accepts connections on `addr`; fails with
    /// the last lines of its log when it exits first or takes too long.
    pub(super) async fn wait_until_listening(&mut self, addr: SocketAddr) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().context("watching the child")? {
                anyhow::bail!("exited ({status}): {}", self.log_tail());
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if start.elapsed() > START_TIMEOUT {
                anyhow::bail!(
                    "not listening on {addr} after {START_TIMEOUT:?}: {}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last non-empty lines of the child's log, joined.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
        if tail.is_empty() {
            "(no output)".to_owned()
        } else {
            tail
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Errors mean the child is already gone; nothing is left to stop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
