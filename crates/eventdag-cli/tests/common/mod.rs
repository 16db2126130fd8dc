//! Running the `eventdag` program as a user would, for the tests beside
//! this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// Runs `eventdag --data DATA ARGS…` and waits for it.
pub(crate) fn eventdag(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("EVENTDAG_STORE")
        .env_remove("EVENTDAG_DATA")
        .output()
        .expect("run eventdag")
}

/// The JSON lines of a successful run; fails the test with its stderr
/// otherwise.
pub(crate) fn ok_lines(output: &Output) -> Vec<Value> {
    ok_lines_as(output)
}

/// The JSON lines of a successful run, each decoded as `T`.
pub(crate) fn ok_lines_as<T: serde::de::DeserializeOwned>(output: &Output) -> Vec<T> {
    assert!(
        output.status.success(),
        "eventdag failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    json_lines_as(output)
}

/// The JSON lines a run printed, whatever its exit status.
pub(crate) fn json_lines(output: &Output) -> Vec<Value> {
    json_lines_as(output)
}

fn json_lines_as<T: serde::de::DeserializeOwned>(output: &Output) -> Vec<T> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// What a run wrote to stderr.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `id` of an event printed as JSON.
pub(crate) fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

/// `eventdag serve` on `data` at a free loopback port, once it answers
/// `/healthz`; stop it with [`Server::stop`].
pub(crate) struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts the server and waits until it answers.
    pub(crate) fn start(data: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_eventdag"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--addr", &addr])
            .env_remove("EVENTDAG_STORE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self { child, addr };
        for _ in 0..100 {
            if server
                .request("GET", "/healthz", None)
                .is_some_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server never answered on {}", server.addr);
    }

    /// One HTTP/1.1 request; the whole response, or `None` when nothing
    /// listens yet.
    pub(crate) fn request(&self, method: &str, path: &str, body: Option<&str>) -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&self.addr).ok()?;
        let body = body.unwrap_or("");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        Some(response)
    }

    /// SIGTERM, then waits; asserts a clean exit.
    pub(crate) fn stop(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exits 0 after SIGTERM: {status:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // After a failed assertion: do not leave the server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
