//! What the browser tests of the explorer share: the Chromium and
//! chromedriver of the Debian packages (scripts/test.sh installs them), a
//! driver process killed with its browser, and port helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver in a process group of its own, with the browser it
/// starts: dropping kills the whole group, so a failing test that never
/// closed its session leaves no browser behind.
pub(crate) struct Driver(Child);

impl Driver {
    pub(crate) fn spawn(port: u16) -> Self {
        use std::os::unix::process::CommandExt;
        Self(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A headless Chromium session through a chromedriver of its own, with a
/// fresh profile directory: the client, and what must live as long.
pub(crate) async fn headless() -> (fantoccini::Client, Driver, tempfile::TempDir) {
    let driver_port = free_port();
    let driver = Driver::spawn(driver_port);
    wait_for_port(driver_port, "chromedriver");
    let profile = tempfile::tempdir().unwrap();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-crash-reporter",
                     "--window-size=1400,900", format!("--user-data-dir={}", profile.path().display())]
        }),
    );
    let client = fantoccini::ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("connect to chromedriver");
    (client, driver, profile)
}
