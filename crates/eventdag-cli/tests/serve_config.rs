//! `eventdag serve`'s settings: a TOML file, `EVENTDAG_*` variables and
//! flags, later ones winning; `--print-config` shows the result; the
//! settings reach the running server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn eventdag(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eventdag"));
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("EVENTDAG_")) {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn printed(output: &Output) -> toml::Table {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).parse().unwrap()
}

fn server_value(table: &toml::Table, key: &str) -> toml::Value {
    table["server"][key].clone()
}

#[test]
fn flags_beat_variables_beat_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("eventdag.toml"),
        "[server]\ndefault_limit = 7\nrate_limit_per_second = 10\nrequest_timeout = \"5s\"\n",
    )
    .unwrap();
    let file_only = printed(&eventdag(dir.path(), &["serve", "--print-config"], &[]));
    assert_eq!(
        server_value(&file_only, "default_limit").as_integer(),
        Some(7)
    );
    assert_eq!(
        server_value(&file_only, "request_timeout").as_str(),
        Some("5s")
    );
    let env = [
        ("EVENTDAG_DEFAULT_LIMIT", "8"),
        ("EVENTDAG_RATE_LIMIT_PER_SECOND", "20"),
        ("EVENTDAG_ADDR", "127.0.0.1:7999"),
    ];
    let with_env = printed(&eventdag(dir.path(), &["serve", "--print-config"], &env));
    assert_eq!(
        server_value(&with_env, "default_limit").as_integer(),
        Some(8)
    );
    assert_eq!(
        server_value(&with_env, "rate_limit_per_second").as_integer(),
        Some(20)
    );
    assert_eq!(
        server_value(&with_env, "addr").as_str(),
        Some("127.0.0.1:7999")
    );
    let with_flag = printed(&eventdag(
        dir.path(),
        &["serve", "--print-config", "--default-limit", "9"],
        &env,
    ));
    assert_eq!(
        server_value(&with_flag, "default_limit").as_integer(),
        Some(9)
    );
    assert_eq!(
        server_value(&with_flag, "rate_limit_per_second").as_integer(),
        Some(20)
    );
    assert_eq!(
        server_value(&with_flag, "request_timeout").as_str(),
        Some("5s")
    );
}

#[test]
fn the_files_store_applies_unless_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.toml");
    std::fs::write(&file, "store = \"memory:\"\n").unwrap();
    let config = file.to_str().unwrap();
    let from_file = printed(&eventdag(
        dir.path(),
        &["serve", "--config", config, "--print-config"],
        &[],
    ));
    assert_eq!(from_file["store"].as_str(), Some("memory:"));
    let named = printed(&eventdag(
        dir.path(),
        &[
            "--data",
            "elsewhere",
            "serve",
            "--config",
            config,
            "--print-config",
        ],
        &[],
    ));
    assert_eq!(named["store"].as_str(), Some("lmdb:elsewhere"));
}

#[test]
fn bad_settings_are_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("eventdag.toml"),
        "[server]\ncolour = \"red\"\n",
    )
    .unwrap();
    let unknown = eventdag(dir.path(), &["serve", "--print-config"], &[]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("colour"));
    std::fs::remove_file(dir.path().join("eventdag.toml")).unwrap();
    let wrong = eventdag(
        dir.path(),
        &["serve", "--print-config"],
        &[("EVENTDAG_REQUEST_TIMEOUT", "soon")],
    );
    let message = String::from_utf8_lossy(&wrong.stderr).to_lowercase();
    assert!(!wrong.status.success());
    assert!(
        message.contains("request_timeout") && message.contains("soon"),
        "{message}"
    );
    let missing = eventdag(dir.path(), &["serve", "--config", "nope.toml"], &[]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml"));
}

/// `eventdag ARGS` in `dir`, once it accepts connections on `port`.
fn start_serve(dir: &Path, args: &[&str], port: u16) -> std::process::Child {
    let server = Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn get(port: u16, path: &str) -> String {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // A TLS listener may drop a plain-text request before it is written
    // (broken pipe): that is no answer, and callers check the answer.
    if write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return String::new();
    }
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap_or_default();
    answer
}

#[test]
fn the_running_server_uses_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("eventdag.toml"),
        format!(
            "store = \"memory:\"\n[server]\naddr = \"127.0.0.1:{port}\"\nrate_limit_per_second = 1\nrate_limit_burst = 1\n"
        ),
    )
    .unwrap();
    let mut server = start_serve(dir.path(), &["serve"], port);
    let first = get(port, "/v1/unacknowledged");
    let second = get(port, "/v1/unacknowledged");
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(second.starts_with("HTTP/1.1 429"), "a burst of 1: {second}");
}

/// With a certificate and key the server speaks HTTPS (and nothing in
/// clear): a self-signed pair made by `openssl`, checked with `curl`.
#[test]
fn tls_serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed for this test (Debian package openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let mut server = start_serve(
        dir.path(),
        &[
            "--store",
            "memory:",
            "serve",
            "--addr",
            &addr,
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ],
        port,
    );
    let https = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "5",
            &format!("https://localhost:{port}/healthz"),
        ])
        .output()
        .unwrap();
    let clear = get(port, "/healthz");
    server.kill().unwrap();
    server.wait().unwrap();
    let body = String::from_utf8_lossy(&https.stdout);
    assert!(https.status.success() && body.contains("ok"), "{body}");
    assert!(
        !clear.contains("200 OK"),
        "plain HTTP must not be answered: {clear}"
    );
}

/// The forgetting settings: the administrator key is read from the
/// variable, the file or the flag and only its hash is ever printed; the
/// retention interval and archive directory come from every source too,
/// and a missing archive directory is refused at start.
#[test]
fn forgetting_settings_keep_only_the_admin_key_hash() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "serve-admin-key-0123456789abcdef01234567";
    let archive = dir.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    let archive_text = archive.to_str().unwrap();
    let shown = eventdag(
        dir.path(),
        &[
            "serve",
            "--print-config",
            "--retention-interval",
            "10m",
            "--retention-archive-dir",
            archive_text,
        ],
        &[("EVENTDAG_ADMIN_KEY", secret)],
    );
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        !text.contains(secret),
        "the key itself is never printed: {text}"
    );
    let table = printed(&shown);
    let hashed = server_value(&table, "admin_key")
        .as_str()
        .unwrap()
        .to_owned();
    assert!(hashed.starts_with("sha256:"), "{hashed}");
    assert_eq!(
        server_value(&table, "retention_interval").as_str(),
        Some("10m")
    );
    assert_eq!(
        server_value(&table, "retention_archive_dir").as_str(),
        Some(archive_text)
    );
    // The printed hash configures the same key from a file.
    std::fs::write(
        dir.path().join("eventdag.toml"),
        format!("[server]\nadmin_key = \"{hashed}\"\nretention_interval = \"0s\"\n"),
    )
    .unwrap();
    let from_file = printed(&eventdag(dir.path(), &["serve", "--print-config"], &[]));
    assert_eq!(
        server_value(&from_file, "admin_key").as_str(),
        Some(hashed.as_str())
    );
    assert_eq!(
        server_value(&from_file, "retention_interval").as_str(),
        Some("0s")
    );
    let weak = eventdag(
        dir.path(),
        &["serve", "--print-config"],
        &[("EVENTDAG_ADMIN_KEY", "short")],
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 32"));
    let missing = eventdag(
        dir.path(),
        &[
            "serve",
            "--print-config",
            "--retention-archive-dir",
            "/nonexistent/dir",
        ],
        &[],
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("retention_archive_dir"));
}
