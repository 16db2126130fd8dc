//! `--store http://…`: the commands on a live server print what they
//! print on the embedded store, the key coming from `EVENTDAG_API_KEY` or
//! `--api-key`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use eventdag_lmdb::LmdbDag;
use eventdag_server::{AppState, ServerConfig};
use serde_json::Value;

/// Runs `eventdag` with `args` (off the runtime's threads: the server
/// answers on them meanwhile).
async fn eventdag(args: Vec<String>, key: Option<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_eventdag"));
        command
            .args(&args)
            .env_remove("EVENTDAG_STORE")
            .env_remove("EVENTDAG_API_KEY")
            .env_remove("EVENTDAG_DATA");
        if let Some(key) = key {
            command.env("EVENTDAG_API_KEY", key);
        }
        command.output().expect("run eventdag")
    })
    .await
    .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "eventdag failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

fn embedded(data: &Path, list: &[&str]) -> Vec<String> {
    let mut all = args(&["--store", &format!("lmdb:{}", data.display())]);
    all.extend(args(list));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_over_http_print_what_they_print_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let store = Arc::new(LmdbDag::<eventdag::RawJson>::open(&data).unwrap());
    let created = eventdag_server::create_tenant(&*store, "acme")
        .await
        .unwrap();
    let tenant = created.tenant_id.to_string();
    let key = created.api_key;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(eventdag_server::serve_listener(
        AppState::new(Arc::clone(&store), ServerConfig::default()),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let remote = |list: &[&str]| {
        let mut all = args(&["--store", &url]);
        all.extend(args(list));
        all
    };

    let root: Value = serde_json::from_str(&stdout(
        &eventdag(
            remote(&["append", "--payload", r#"{"step":"plan"}"#]),
            Some(key.clone()),
        )
        .await,
    ))
    .unwrap();
    let root_id = root["id"].as_str().unwrap().to_owned();
    assert_eq!(
        root["tenant_id"],
        tenant.as_str(),
        "stored in the key's tenant"
    );
    // The key by flag instead of the variable.
    let mut with_flag = remote(&[
        "append",
        "--payload",
        r#"{"step":"act"}"#,
        "--parent",
        &root_id,
        "--flags",
        "requires_ack",
    ]);
    with_flag.extend(args(&["--api-key", &key]));
    let child: Value = serde_json::from_str(&stdout(&eventdag(with_flag, None).await)).unwrap();
    let child_id = child["id"].as_str().unwrap().to_owned();
    let leaf_id = {
        let leaf = remote(&[
            "append",
            "--payload",
            "3",
            "--parent",
            &child_id,
            "--flags",
            "requires_ack",
        ]);
        let leaf: Value =
            serde_json::from_str(&stdout(&eventdag(leaf, Some(key.clone())).await)).unwrap();
        leaf["id"].as_str().unwrap().to_owned()
    };
    stdout(&eventdag(remote(&["ack", &child_id, "--upstream"]), Some(key.clone())).await);
    let signal = format!(
        r#"{{"type":"error_propagation","source_event_id":"{leaf_id}","error_code":7,"message":"x"}}"#
    );
    stdout(&eventdag(remote(&["signal", &leaf_id, &signal]), Some(key.clone())).await);
    let signals = stdout(&eventdag(remote(&["signal", &leaf_id]), Some(key.clone())).await);

    // Reads, over HTTP now and on the store itself once the server is gone.
    let reads: Vec<Vec<&str>> = vec![
        vec!["get", &child_id],
        vec!["get", &child_id, "--pretty"],
        vec!["ancestors", &leaf_id],
        vec!["descendants", &root_id, "--limit", "2"],
        vec!["unacked"],
        vec!["verify", &leaf_id],
        vec!["verify", "--chain", &root_id],
        vec!["export", "--chain", &root_id],
        vec!["export", "--chain", &root_id, "--format", "dot"],
    ];
    let mut over_http = Vec::new();
    for read in &reads {
        over_http.push(stdout(&eventdag(remote(read), Some(key.clone())).await));
    }
    let chain_http = stdout(&eventdag(remote(&["chain", &root_id]), Some(key.clone())).await);
    assert_eq!(chain_http.lines().count(), 3, "{chain_http}");

    // The work queue over HTTP: a job of its own chain, so that the reads
    // compared below do not change.
    let job: Value = serde_json::from_str(&stdout(
        &eventdag(
            remote(&[
                "append",
                "--payload",
                r#"{"job":1}"#,
                "--flags",
                "requires_ack",
            ]),
            Some(key.clone()),
        )
        .await,
    ))
    .unwrap();
    let job_id = job["id"].as_str().unwrap().to_owned();
    let claim = |consumer: &str| {
        remote(&[
            "work",
            "claim",
            "--consumer",
            consumer,
            "--chain",
            &job_id,
            "--lease-ms",
            "60000",
        ])
    };
    let claimed = stdout(&eventdag(claim("w1"), Some(key.clone())).await);
    let claimed: Value = serde_json::from_str(claimed.trim()).unwrap();
    assert_eq!(claimed["event"]["id"], job_id.as_str());
    assert_eq!(claimed["attempt"], 1);
    assert_eq!(claimed["lease"]["consumer"], "w1");
    let token = claimed["lease"]["token"].as_str().unwrap().to_owned();
    let second = stdout(&eventdag(claim("w2"), Some(key.clone())).await);
    assert_eq!(second, "", "leased to w1: nothing for w2");
    let wrong = eventdag(
        remote(&["work", "ack", &job_id, "--token", &root_id]),
        Some(key.clone()),
    )
    .await;
    assert!(!wrong.status.success(), "another claim's token is refused");
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("lease conflict"),
        "{wrong:?}"
    );
    let extended: Value = serde_json::from_str(&stdout(
        &eventdag(
            remote(&[
                "work",
                "extend",
                &job_id,
                "--token",
                &token,
                "--lease-ms",
                "120000",
            ]),
            Some(key.clone()),
        )
        .await,
    ))
    .unwrap();
    assert!(
        extended["lease"]["deadline"].as_u64() > claimed["lease"]["deadline"].as_u64(),
        "{extended}"
    );
    let shown_leased =
        stdout(&eventdag(remote(&["work", "show", &job_id]), Some(key.clone())).await);
    assert!(shown_leased.contains(&token), "{shown_leased}");
    stdout(
        &eventdag(
            remote(&["work", "ack", &job_id, "--token", &token]),
            Some(key.clone()),
        )
        .await,
    );
    let shown = stdout(&eventdag(remote(&["work", "show", &job_id]), Some(key.clone())).await);

    // Commands that need what HTTP does not serve say so.
    let refused = eventdag(remote(&["tenant", "list"]), Some(key.clone())).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no HTTP API"),
        "{refused:?}"
    );
    for (command, reason) in [
        (vec!["import", "events.jsonl"], "timestamp"),
        (vec!["export"], "--chain"),
        (vec!["serve"], "needs a store"),
    ] {
        let refused = eventdag(remote(&command), Some(key.clone())).await;
        assert!(!refused.status.success(), "{command:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(reason), "{command:?}: {stderr}");
    }
    let no_key = eventdag(remote(&["get", &root_id]), None).await;
    assert!(!no_key.status.success());
    assert!(
        String::from_utf8_lossy(&no_key.stderr).contains("API key"),
        "{no_key:?}"
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    drop(store);

    for (read, http) in reads.iter().zip(&over_http) {
        let mut list = read.clone();
        if list[0] == "unacked"
            || (list[0] == "verify" && list[1] == "--chain")
            || list[0] == "export"
        {
            list.extend(["--tenant", tenant.as_str()]);
        }
        let local = stdout(&eventdag(embedded(&data, &list), None).await);
        assert_eq!(&local, http, "{read:?}");
    }
    let shown_local = stdout(
        &eventdag(
            embedded(&data, &["work", "show", &job_id, "--tenant", &tenant]),
            None,
        )
        .await,
    );
    assert_eq!(
        shown_local, shown,
        "acknowledged through the queue: no queue state"
    );
    let signals_local = stdout(&eventdag(embedded(&data, &["signal", &leaf_id]), None).await);
    assert_eq!(signals_local, signals);
    let chain_local = stdout(
        &eventdag(
            embedded(&data, &["chain", &root_id, "--tenant", &tenant]),
            None,
        )
        .await,
    );
    assert_eq!(chain_local, chain_http);
}

/// Forgetting over `--store http://…`: redact, retention (the server's
/// plan, a local archive, the server's own run), and tenant erasure with
/// the administrator key; a tenant key is refused there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_commands_over_http() {
    const ADMIN: &str = "cli-admin-key-0123456789abcdef0123456789";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let store = Arc::new(LmdbDag::<eventdag::RawJson>::open(&data).unwrap());
    let created = eventdag_server::create_tenant(&*store, "acme")
        .await
        .unwrap();
    let key = created.api_key;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig {
        admin_key: Some(eventdag_server::AdminKey::parse(ADMIN).unwrap()),
        key_cache_ttl: std::time::Duration::ZERO,
        ..ServerConfig::default()
    };
    let server = tokio::spawn(eventdag_server::serve_listener(
        AppState::new(Arc::clone(&store), config),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let remote = |list: &[&str]| {
        let mut all = args(&["--store", &url]);
        all.extend(args(list));
        all
    };
    let line = |output: &Output| -> Value {
        serde_json::from_str(stdout(output).lines().next().unwrap()).unwrap()
    };
    let k = || Some(key.clone());

    let old = line(&eventdag(remote(&["append", "--payload", r#"{"secret":1}"#]), k()).await);
    let old_id = old["id"].as_str().unwrap().to_owned();
    let other = line(&eventdag(remote(&["append", "--payload", r#"{"b":1}"#]), k()).await);
    let other_id = other["id"].as_str().unwrap().to_owned();
    let redacted = line(&eventdag(remote(&["redact", &old_id, "--reason", "asked"]), k()).await);
    assert_eq!(redacted["payload"], Value::Null);
    assert_eq!(redacted["redaction"]["reason"], "asked");
    let verified = line(&eventdag(remote(&["verify", &old_id]), k()).await);
    assert_eq!(verified["redacted"], serde_json::json!([old_id]));

    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let set = line(&eventdag(remote(&["retention", "set", "--max-age", "1s"]), k()).await);
    assert_eq!(set["policy"]["rules"][0]["max_age_seconds"], 1);
    let shown = line(&eventdag(remote(&["retention", "show"]), k()).await);
    assert_eq!(shown["tenant_id"], created.tenant_id.to_string());
    let all = eventdag(remote(&["retention", "show", "--all"]), k()).await;
    assert!(!all.status.success());
    assert!(String::from_utf8_lossy(&all.stderr).contains("only its own tenant"));
    let dry = line(&eventdag(remote(&["retention", "run", "--dry-run"]), k()).await);
    assert_eq!(dry["plan"]["remove"].as_array().unwrap().len(), 2, "{dry}");
    let archive = dir.path().join("archive.jsonl");
    // The server's plan, removed chain by chain through the client, each
    // archived here first.
    let run = line(
        &eventdag(
            remote(&["retention", "run", "--archive", archive.to_str().unwrap()]),
            k(),
        )
        .await,
    );
    assert_eq!(run["report"]["removed_events"], 2, "{run}");
    let archived = std::fs::read_to_string(&archive).unwrap();
    assert_eq!(archived.lines().count(), 2);
    assert!(archived.contains(&old_id) && archived.contains(&other_id));
    assert!(
        !archived.contains("secret"),
        "the redacted payload is not archived"
    );
    let again = line(&eventdag(remote(&["retention", "run"]), k()).await);
    assert_eq!(again["report"]["removed_chains"], 0, "the server's own run");
    let cleared = line(&eventdag(remote(&["retention", "clear"]), k()).await);
    assert_eq!(cleared["cleared"], true);

    // Erasure: refused without the admin key and with a tenant key.
    let refused = eventdag(remote(&["tenant", "delete", "acme", "--yes"]), k()).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("admin_key"));
    let pretender = eventdag(
        remote(&["--admin-key", &key, "tenant", "delete", "acme", "--yes"]),
        None,
    )
    .await;
    assert!(!pretender.status.success());
    let erased = line(
        &eventdag(
            remote(&["--admin-key", ADMIN, "tenant", "delete", "acme", "--yes"]),
            None,
        )
        .await,
    );
    assert_eq!(erased["tenant_id"], created.tenant_id.to_string());
    assert_eq!(erased["api_keys"], 1);
    let locked_out = eventdag(remote(&["unacked"]), k()).await;
    assert!(
        !locked_out.status.success(),
        "the erased tenant's key stops"
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
