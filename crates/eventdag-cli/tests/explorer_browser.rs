//! The web explorer in a real browser: `eventdag serve` on a seeded store,
//! headless Chromium through chromedriver. Checks that every node and edge
//! is drawn, that signals show, that clicking a node shows its payload and
//! that a new event appears live; saves a screenshot. The explorer's
//! other views and a 10,000-event chain are in `explorer_workflows.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use browser::{free_port, wait_for_port, Driver, CHROMEDRIVER, CHROMIUM};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

/// Kills a child process when dropped, so a failing test leaves nothing behind.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn eventdag(data: &Path, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_eventdag"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    serde_json::from_str(text.lines().next().unwrap_or("null")).unwrap()
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The given attributes of every element matching `css`, read in one
/// script run: the page redraws on live updates, which would leave
/// element handles found one call earlier stale.
async fn attribute_set(client: &Client, css: &str, attributes: &[&str]) -> BTreeSet<Vec<String>> {
    let script = "return Array.from(document.querySelectorAll(arguments[0])).map(\
                  e => arguments[1].map(a => e.getAttribute(a) || ''));";
    let rows = client
        .execute(script, vec![json!(css), json!(attributes)])
        .await
        .unwrap();
    serde_json::from_value(rows).unwrap()
}

/// `eventdag serve` on a store directory and a headless Chromium driven
/// through chromedriver; both are killed when this is dropped.
struct Browser {
    client: Client,
    port: u16,
    _server: Reaped,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(data: &Path) -> Self {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(Path::new(binary).exists(), "{binary} is missing: run `bash scripts/test.sh` (it installs Debian's chromium and chromium-driver)");
        }
        let port = free_port();
        let server = Reaped(
            Command::new(env!("CARGO_BIN_EXE_eventdag"))
                .arg("--data")
                .arg(data)
                .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(port, "eventdag serve");
        let (client, driver, profile) = browser::headless().await;
        Self {
            client,
            port,
            _server: server,
            _driver: driver,
            _profile: profile,
        }
    }

    async fn open_chain(&self, chain: &str) {
        self.client
            .goto(&format!("http://127.0.0.1:{}/?chain={chain}", self.port))
            .await
            .unwrap();
    }

    async fn node_count(&self) -> usize {
        self.client
            .find_all(Locator::Css("g.node"))
            .await
            .unwrap()
            .len()
    }

    async fn save_screenshot(&self, name: &str) {
        let shot = self.client.screenshot().await.unwrap();
        assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explorer");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(name), &shot).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_draws_the_chain_and_shows_a_node() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");

    // A fan-in (A -> B, A -> C on lane 1, {B, C} -> D) with an error signal
    // and an acknowledgment flowing upstream from D.
    let a = id(&eventdag(
        &data,
        &[
            "append",
            "--payload",
            r#"{"step":"plan"}"#,
            "--kind",
            "0x1001",
        ],
    ));
    let b = id(&eventdag(
        &data,
        &[
            "append",
            "--payload",
            r#"{"step":"search"}"#,
            "--parent",
            &a,
            "--kind",
            "0x6001",
        ],
    ));
    let c = id(&eventdag(
        &data,
        &[
            "append",
            "--payload",
            r#"{"step":"draft"}"#,
            "--parent",
            &a,
            "--lane",
            "1",
            "--kind",
            "0x6002",
        ],
    ));
    let d = id(&eventdag(
        &data,
        &[
            "append",
            "--payload",
            r#"{"step":"review","score":0.93}"#,
            "--parent",
            &b,
            "--parent",
            &c,
            "--flags",
            "requires_ack",
            "--kind",
            "0xa001",
        ],
    ));
    let error = json!({"type": "error_propagation", "source_event_id": d, "error_code": 7, "message": "tool timed out"});
    eventdag(&data, &["signal", &d, &error.to_string()]);
    eventdag(&data, &["ack", &d, "--upstream"]);

    let browser = Browser::start(&data).await;
    let client = &browser.client;
    browser.open_chain(&a).await;
    wait_until("4 nodes", || async { browser.node_count().await == 4 }).await;
    let nodes: BTreeSet<String> = attribute_set(client, "g.node", &["data-id"])
        .await
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    assert_eq!(
        nodes,
        [a.clone(), b.clone(), c.clone(), d.clone()]
            .into_iter()
            .collect()
    );
    let edges = attribute_set(client, "path.edge", &["data-from", "data-to"]).await;
    let expected: BTreeSet<Vec<String>> = [(&a, &b), (&a, &c), (&b, &d), (&c, &d)]
        .into_iter()
        .map(|(from, to)| vec![from.clone(), to.clone()])
        .collect();
    assert_eq!(edges, expected, "every parent -> child edge is drawn once");
    wait_until("signal arrows", || async {
        let kinds = attribute_set(client, "path.signal", &["data-signal"]).await;
        kinds.contains(&vec!["error_propagation".to_string()])
            && kinds.contains(&vec!["ack".to_string()])
    })
    .await;
    let acknowledged = client
        .find(Locator::Css(&format!("g.node[data-id='{d}']")))
        .await
        .unwrap();
    assert!(acknowledged
        .attr("class")
        .await
        .unwrap()
        .unwrap()
        .contains("acknowledged"));

    acknowledged.click().await.unwrap();
    wait_until("the payload panel", || async {
        match client.find(Locator::Css("#payload")).await {
            Ok(panel) => panel.text().await.unwrap().contains("\"review\""),
            Err(_) => false,
        }
    })
    .await;
    wait_until("verification result", || async {
        match client.find(Locator::Css("#verification")).await {
            Ok(panel) => panel.text().await.unwrap().contains("intact"),
            Err(_) => false,
        }
    })
    .await;
    // The work-queue panel answers for the event (acknowledged: no lease).
    wait_until("the work-queue panel", || async {
        match client.find(Locator::Css("#node-queue")).await {
            Ok(panel) => {
                let text = panel.text().await.unwrap();
                text.contains("attempts") && text.contains("last consumer")
            }
            Err(_) => false,
        }
    })
    .await;
    let signals = client
        .find(Locator::Css("#node-signals"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        signals.contains("error_propagation") && signals.contains("ack"),
        "{signals}"
    );

    // Live: an event appended now appears without reload.
    let script = format!(
        "return fetch('/v1/events', {{method: 'POST', headers: {{'content-type': 'application/json'}}, body: JSON.stringify({{payload: {{step: 'live'}}, parents: ['{d}']}})}}).then(r => r.status)"
    );
    assert_eq!(client.execute(&script, vec![]).await.unwrap(), json!(201));
    wait_until("the live event", || async {
        browser.node_count().await == 5
    })
    .await;
    browser.save_screenshot("explorer.png").await;
    browser.client.clone().close().await.unwrap();
}
