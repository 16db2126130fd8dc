//! The explorer as a place to work, in headless Chromium against the real
//! `eventdag serve`: one test per capability (landing view and live tail,
//! search, filters, deep links and history, readable nodes, redacted
//! events, the queue and a chain's signals, a 10,000-event chain), each
//! saving a screenshot
//! under `target/tmp/explorer/`.
//!
//! Every test shares one server over one store, seeded once over HTTP
//! (the 10,000-event chain in one batch request); each test has its own
//! chromedriver and browser. Tests that write only add new chains, so the
//! seeded ones stay as seeded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use browser::{free_port, wait_for_port, Driver, CHROMEDRIVER, CHROMIUM};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

const BIG: usize = 10_000;

/// One HTTP/1.1 request to the shared server; the status and JSON body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let content_type = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/json\r\n".to_owned()
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status: u16 = text[9..12].parse().unwrap();
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn post(port: u16, path: &str, body: &Value) -> Value {
    let (status, json) = http(port, "POST", path, Some(body));
    assert!((200..300).contains(&status), "{path}: {status} {json}");
    json
}

fn append(port: u16, body: Value) -> String {
    post(port, "/v1/events", &body)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What the seed put in the store.
struct Seed {
    big_root: String,
    /// A deep event of the big chain (depth 2,000, lane 0).
    big_deep: String,
    /// The agents chain: root, search (lane 0), draft (lane 1), review
    /// (fan-in, REQUIRES_ACK), publish (acknowledged), retry (compensated).
    agents: String,
    search: String,
    draft: String,
    review: String,
    publish: String,
    retry: String,
    cancelled: String,
    held: String,
    /// A chain whose root waits in the queue, leased to `worker-7`.
    queued: String,
    /// Dead-lettered after one delivery.
    dead: String,
}

struct Shared {
    port: u16,
    seed: Seed,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// The 10,000-event test runs alone (write), the others side by side
/// (read), so that its printed times are the page's and the server's, not
/// those of a second browser sharing the two cores.
static GATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// The one server of this file: started and seeded by the first test that
/// asks. A shell watches this test process and stops the server (and
/// removes its store) when the process is gone, since statics are never
/// dropped.
fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let data = tempfile::tempdir().unwrap().keep();
        let port = free_port();
        let watcher = format!(
            "\"$@\" >/dev/null 2>&1 & c=$!; while kill -0 {} 2>/dev/null && kill -0 $c 2>/dev/null; do sleep 0.2; done; kill $c 2>/dev/null; wait $c; rm -rf '{}'",
            std::process::id(),
            data.display()
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(watcher)
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_eventdag"))
            .arg("--data")
            .arg(data.join("store"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::mem::forget(child);
        wait_for_port(port, "eventdag serve");
        let started = Instant::now();
        let seed = seed(port);
        println!("seeded the shared store in {:?}", started.elapsed());
        Shared { port, seed }
    })
}

fn seed(port: u16) -> Seed {
    // The big chain first (the oldest): a spine on lane 0 and, at every
    // depth, three side events on lanes 1..=3 under the spine's event
    // above: 10,000 events, 2,500 deep.
    let mut batch = Vec::with_capacity(BIG);
    let root = uuid::Uuid::now_v7();
    batch.push(json!({"id": root, "payload": {"step": "start", "n": 0}, "kind": 0x1001}));
    let mut spine = root;
    let mut big_deep = None;
    for n in 1..BIG {
        let id = uuid::Uuid::now_v7();
        let lane = (n - 1) % 4;
        let depth = (n - 1) / 4 + 1;
        batch.push(
            json!({"id": id, "parents": [spine], "lane": lane, "kind": 0x6000 + lane,
                          "payload": {"step": format!("step {n}"), "n": n}}),
        );
        if depth == 2000 && lane == 0 {
            big_deep = Some(id);
        }
        if lane == 3 {
            // The next depth hangs under this depth's spine event.
            spine = uuid::Uuid::parse_str(batch[n - lane]["id"].as_str().unwrap()).unwrap();
        }
    }
    let stored = post(port, "/v1/events:batch", &Value::Array(batch));
    assert_eq!(stored.as_array().unwrap().len(), BIG);

    let dead_root = append(
        port,
        json!({"payload": {"job": "flaky export"}, "kind": 0x8002, "flags": ["REQUIRES_ACK"]}),
    );
    let claim = post(
        port,
        "/v1/queue/claims",
        &json!({"consumer": "flaky", "lease_ms": 60_000, "kind": 0x8002}),
    );
    let token = claim[0]["lease"]["token"].as_str().unwrap().to_owned();
    post(
        port,
        &format!("/v1/queue/leases/{dead_root}/release"),
        &json!({"token": token}),
    );
    let second = post(
        port,
        "/v1/queue/claims",
        &json!({"consumer": "flaky", "lease_ms": 60_000, "kind": 0x8002, "max_attempts": 1}),
    );
    assert_eq!(second, json!([]), "dead-lettered, not handed out");

    let agents = append(
        port,
        json!({"payload": {"task": "plan a trip", "user": "ana"}, "kind": 0x1001}),
    );
    let search = append(
        port,
        json!({"payload": {"action": "search", "query": "flights to Lisbon"}, "parents": [agents], "kind": 0x6001}),
    );
    let draft = append(
        port,
        json!({"payload": {"action": "draft", "query": "itinerary"}, "parents": [agents], "lane": 1, "kind": 0x6002}),
    );
    let review = append(
        port,
        json!({"payload": {"score": 0.93, "verdict": "accept"}, "parents": [search, draft], "kind": 0xA001, "flags": ["REQUIRES_ACK"]}),
    );
    let publish = append(
        port,
        json!({"payload": {"action": "publish"}, "parents": [review], "kind": 0xD001, "flags": ["REQUIRES_ACK"]}),
    );
    post(
        port,
        &format!("/v1/events/{publish}/ack?upstream=true"),
        &json!({}),
    );
    let retry = append(
        port,
        json!({"payload": {"action": "book hotel"}, "parents": [review], "lane": 2, "kind": 0xD002}),
    );
    post(
        port,
        &format!("/v1/events/{retry}/signals"),
        &json!({"type": "error_propagation", "source_event_id": retry, "error_code": 7, "message": "hotel API timed out"}),
    );
    post(
        port,
        &format!("/v1/events/{retry}/signals"),
        &json!({"type": "compensation_complete", "event_id": retry}),
    );

    let cancelled = append(
        port,
        json!({"payload": {"task": "abandoned"}, "kind": 0x1002}),
    );
    post(
        port,
        &format!("/v1/events/{cancelled}/signals"),
        &json!({"type": "cancel", "correlation_id": cancelled, "reason": "user closed the tab"}),
    );
    let held = append(
        port,
        json!({"payload": {"task": "bulk import"}, "kind": 0x1003}),
    );
    let until = eventdag::now_micros() + 3_600_000_000;
    post(
        port,
        &format!("/v1/events/{held}/signals"),
        &json!({"type": "backpressure", "until": until}),
    );
    let queued = append(
        port,
        json!({"payload": {"job": "send invoice"}, "kind": 0x8001, "flags": ["REQUIRES_ACK"]}),
    );
    let claimed = post(
        port,
        "/v1/queue/claims",
        &json!({"consumer": "worker-7", "lease_ms": 600_000, "kind": 0x8001}),
    );
    assert_eq!(claimed[0]["event"]["id"], queued);
    Seed {
        big_root: root.to_string(),
        big_deep: big_deep.unwrap().to_string(),
        agents,
        search,
        draft,
        review,
        publish,
        retry,
        cancelled,
        held,
        queued,
        dead: dead_root,
    }
}

/// A headless Chromium through its own chromedriver, killed when dropped.
struct Browser {
    client: Client,
    port: u16,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Self {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(Path::new(binary).exists(), "{binary} is missing: run `bash scripts/test.sh` (it installs Debian's chromium and chromium-driver)");
        }
        let port = shared().port;
        let (client, driver, profile) = browser::headless().await;
        Self {
            client,
            port,
            _driver: driver,
            _profile: profile,
        }
    }

    async fn open(&self, path: &str) {
        self.client
            .goto(&format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .unwrap();
    }

    /// Runs `script` (a function body) and returns its value.
    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    async fn wait(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.js(script).await;
            if !(value.is_null() || value == json!(false)) {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    async fn save_screenshot(&self, name: &str) {
        let shot = self.client.screenshot().await.unwrap();
        assert!(shot.starts_with(b"\x89PNG"), "a PNG screenshot");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explorer");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(name), &shot).unwrap();
    }

    async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

/// The correlation ids of the landing view's chain rows, in order.
const CHAIN_ROWS: &str =
    "return Array.from(document.querySelectorAll('#chains tr[data-chain]')).map(r => r.dataset.chain);";

fn position(rows: &[String], id: &str) -> usize {
    rows.iter()
        .position(|row| row == id)
        .unwrap_or_else(|| panic!("{id} is not listed: {rows:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landing_lists_recent_chains_and_tails_new_events() {
    let seed = &shared().seed;
    let _shared = GATE.read().await;
    let browser = Browser::start().await;
    browser.open("/").await;
    browser
        .wait(
            "the chain list",
            "return document.querySelectorAll('#chains tr[data-chain]').length >= 5;",
        )
        .await;
    let rows: Vec<String> = serde_json::from_value(browser.js(CHAIN_ROWS).await).unwrap();
    // Newest first: the queue chain was seeded last, the big chain first.
    let order: Vec<usize> = [
        &seed.queued,
        &seed.held,
        &seed.cancelled,
        &seed.agents,
        &seed.big_root,
    ]
    .iter()
    .map(|id| position(&rows, id))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "newest first: {order:?} in {rows:?}"
    );
    let cell = |chain: &str, field: &str| {
        format!("return document.querySelector(\"#chains tr[data-chain='{chain}'] [data-field='{field}']\").textContent.trim();")
    };
    assert_eq!(browser.js(&cell(&seed.agents, "events")).await, json!("6"));
    assert_eq!(browser.js(&cell(&seed.agents, "depth")).await, json!("3"));
    assert_eq!(
        browser.js(&cell(&seed.agents, "status")).await,
        json!("waiting for acks")
    );
    assert_eq!(
        browser.js(&cell(&seed.cancelled, "status")).await,
        json!("cancelled")
    );
    assert_eq!(
        browser.js(&cell(&seed.held, "status")).await,
        json!("backpressure")
    );
    // The big chain reaches back beyond the 10,000 newest events.
    let big = browser.js(&cell(&seed.big_root, "events")).await;
    assert!(big.as_str().unwrap().starts_with("≥ "), "{big}");
    assert_eq!(
        browser.js(&cell(&seed.big_root, "depth")).await,
        json!("2500")
    );

    // The live tail shows an event appended now, and the chain list
    // follows.
    browser
        .wait(
            "the tail to follow",
            "return document.getElementById('tail-state').textContent === 'following';",
        )
        .await;
    let fresh = append(
        browser.port,
        json!({"payload": {"note": "tail me"}, "kind": 0x4001}),
    );
    browser
        .wait(
            "the tail entry",
            &format!("return !!document.querySelector(\"#tail li[data-id='{fresh}']\");"),
        )
        .await;
    let text = browser
        .js(&format!(
            "return document.querySelector(\"#tail li[data-id='{fresh}']\").textContent;"
        ))
        .await;
    assert!(
        text.as_str().unwrap().contains("tail me") && text.as_str().unwrap().contains("Note #1"),
        "{text}"
    );
    browser
        .wait(
            "the new chain listed",
            &format!("return !!document.querySelector(\"#chains tr[data-chain='{fresh}']\");"),
        )
        .await;
    browser.save_screenshot("landing.png").await;
    // A row opens its chain.
    browser
        .js(&format!(
            "document.querySelector(\"#chains tr[data-chain='{}'] a\").click();",
            seed.agents
        ))
        .await;
    browser
        .wait(
            "the agents chain",
            "return window.explorer.events.size === 6;",
        )
        .await;
    assert!(browser
        .url()
        .await
        .contains(&format!("chain={}", seed.agents)));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_events_chains_and_kinds() {
    let seed = &shared().seed;
    let _shared = GATE.read().await;
    let browser = Browser::start().await;
    browser.open("/").await;
    let search = |text: String| {
        let client = browser.client.clone();
        async move {
            let field = client.find(Locator::Id("target")).await.unwrap();
            field.clear().await.unwrap();
            field.send_keys(&format!("{text}\u{E007}")).await.unwrap();
        }
    };
    // An event id: its chain opens with the event selected.
    search(seed.draft.clone()).await;
    browser
        .wait("the draft selected", &format!("return window.explorer.selected === '{}' && document.getElementById('payload') !== null;", seed.draft))
        .await;
    let url = browser.url().await;
    assert!(
        url.contains(&format!("chain={}", seed.agents))
            && url.contains(&format!("event={}", seed.draft)),
        "{url}"
    );
    let payload = browser
        .js("return document.getElementById('payload').textContent;")
        .await;
    assert!(payload.as_str().unwrap().contains("itinerary"), "{payload}");
    // A correlation id: the chain, nothing selected.
    search(seed.cancelled.clone()).await;
    browser
        .wait(
            "the cancelled chain",
            &format!(
                "return window.explorer.chain === '{}' && window.explorer.events.size === 1;",
                seed.cancelled
            ),
        )
        .await;
    assert_eq!(
        browser.js("return window.explorer.selected;").await,
        Value::Null
    );
    browser
        .wait("the cancelled banner", "return document.getElementById('banner').textContent === 'chain cancelled: user closed the tab';")
        .await;
    // A kind: the chains with an event of that kind.
    search("0x6002".to_owned()).await;
    browser
        .wait("the kind's chains", &format!("const rows = Array.from(document.querySelectorAll('#chains tr[data-chain]')).map(r => r.dataset.chain); \
               return location.search.includes('kind=0x6002') && rows.includes('{}') && !rows.includes('{}');", seed.agents, seed.cancelled))
        .await;
    let rows: Vec<String> = serde_json::from_value(browser.js(CHAIN_ROWS).await).unwrap();
    assert!(
        rows.contains(&seed.agents) && rows.contains(&seed.big_root),
        "{rows:?}"
    );
    assert!(
        !rows.contains(&seed.cancelled)
            && !rows.contains(&seed.queued)
            && !rows.contains(&seed.held),
        "{rows:?}"
    );
    assert_eq!(
        browser
            .js("return document.getElementById('filter-kind').value;")
            .await,
        json!("0x6002")
    );
    browser.save_screenshot("search.png").await;
    // Not an id nor a kind: said so.
    search("hello".to_owned()).await;
    browser
        .wait(
            "the refusal",
            "return document.getElementById('status').className === 'error';",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_status_and_kind() {
    let seed = &shared().seed;
    let _shared = GATE.read().await;
    let browser = Browser::start().await;
    browser.open("/").await;
    browser
        .wait(
            "the chain list",
            "return document.querySelectorAll('#chains tr[data-chain]').length >= 5;",
        )
        .await;
    let choose = |status: &str| {
        format!("const s = document.getElementById('filter-status'); s.value = '{status}'; s.dispatchEvent(new Event('change'));")
    };
    browser.js(&choose("cancelled")).await;
    browser
        .wait("only cancelled chains", "return location.search.includes('status=cancelled') && Array.from(document.querySelectorAll('#chains [data-field=status]')).every(p => p.textContent === 'cancelled');")
        .await;
    let rows: Vec<String> = serde_json::from_value(browser.js(CHAIN_ROWS).await).unwrap();
    assert_eq!(rows, vec![seed.cancelled.clone()]);
    browser.js(&choose("waiting_for_acks")).await;
    browser
        .wait("waiting chains", "return location.search.includes('status=waiting_for_acks') && !document.querySelector(\"#chains [data-field=status]:not(.waiting_for_acks)\") && document.querySelectorAll('#chains tr[data-chain]').length > 0;")
        .await;
    let rows: Vec<String> = serde_json::from_value(browser.js(CHAIN_ROWS).await).unwrap();
    assert!(rows.contains(&seed.agents), "{rows:?}");
    assert!(
        !rows.contains(&seed.cancelled) && !rows.contains(&seed.held),
        "{rows:?}"
    );
    // Status and kind together: the agents chain is the one waiting chain
    // with a Handoff (0xa001).
    browser
        .js("const k = document.getElementById('filter-kind'); k.value = '0xa001'; k.dispatchEvent(new Event('change'));")
        .await;
    browser
        .wait("kind and status", "return location.search.includes('kind=0xa001') && document.querySelectorAll('#chains tr[data-chain]').length === 1;")
        .await;
    let rows: Vec<String> = serde_json::from_value(browser.js(CHAIN_ROWS).await).unwrap();
    assert_eq!(rows, vec![seed.agents.clone()]);
    browser.save_screenshot("filters.png").await;
    // A filtered view is a link too.
    browser.open("/?status=backpressure").await;
    browser
        .wait("the held chain", &format!("return document.querySelectorAll('#chains tr[data-chain]').length === 1 && !!document.querySelector(\"#chains tr[data-chain='{}']\");", seed.held))
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_links_open_the_same_view_and_history_works() {
    let seed = &shared().seed;
    let _shared = GATE.read().await;
    let browser = Browser::start().await;
    browser
        .open(&format!("/?chain={}&event={}", seed.agents, seed.review))
        .await;
    browser
        .wait("the linked event", &format!("return window.explorer.selected === '{}' && !!document.querySelector(\"g.node.selected[data-id='{}']\") && document.getElementById('payload') !== null;", seed.review, seed.review))
        .await;
    let payload = browser
        .js("return document.getElementById('payload').textContent;")
        .await;
    assert!(payload.as_str().unwrap().contains("accept"), "{payload}");
    // A click selects another event and names it in the URL.
    browser
        .client
        .find(Locator::Css(&format!("g.node[data-id='{}']", seed.search)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait(
            "the clicked event",
            &format!("return location.search.includes('event={}');", seed.search),
        )
        .await;
    // Back: the linked event again; forward: the clicked one.
    browser.client.back().await.unwrap();
    browser
        .wait(
            "back",
            &format!(
                "return window.explorer.selected === '{}' && location.search.includes('event={}');",
                seed.review, seed.review
            ),
        )
        .await;
    browser.client.forward().await.unwrap();
    browser
        .wait("forward", &format!("return window.explorer.selected === '{}' && !!document.querySelector(\"g.node.selected[data-id='{}']\");", seed.search, seed.search))
        .await;
    browser.save_screenshot("deep-link.png").await;
    // Across views: the landing page, then back to the chain.
    browser
        .js("document.getElementById('nav-chains').click();")
        .await;
    browser
        .wait(
            "the landing view",
            "return !document.getElementById('landing-view').classList.contains('hidden');",
        )
        .await;
    browser.client.back().await.unwrap();
    browser
        .wait("the chain again", &format!("return !document.getElementById('chain-view').classList.contains('hidden') && window.explorer.selected === '{}';", seed.search))
        .await;
    // A link to a non-root event alone opens its chain with it selected.
    browser.open(&format!("/?chain={}", seed.publish)).await;
    browser
        .wait(
            "the event's chain",
            &format!(
                "return window.explorer.chain === '{}' && window.explorer.selected === '{}';",
                seed.agents, seed.publish
            ),
        )
        .await;
    assert!(browser
        .url()
        .await
        .contains(&format!("chain={}&event={}", seed.agents, seed.publish)));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_show_kind_summary_lane_and_badges_with_a_legend() {
    let seed = &shared().seed;
    let _shared = GATE.read().await;
    let browser = Browser::start().await;
    browser.open("/").await;
    browser
        .js("localStorage.removeItem('eventdag.summaryPath');")
        .await;
    browser.open(&format!("/?chain={}", seed.agents)).await;
    browser
        .wait("6 nodes and the signals", "return document.querySelectorAll('g.node').length === 6 && window.explorer.signals.length >= 3;")
        .await;
    let text = |id: &str, class: &str| {
        format!(
            "return document.querySelector(\"g.node[data-id='{id}'] text.{class}\").textContent;"
        )
    };
    assert_eq!(
        browser.js(&text(&seed.search, "kind")).await,
        json!("Agent #1")
    );
    assert_eq!(
        browser.js(&text(&seed.search, "summary")).await,
        json!("search"),
        "first string field"
    );
    assert_eq!(
        browser.js(&text(&seed.review, "kind")).await,
        json!("Handoff #1")
    );
    assert!(browser
        .js(&text(&seed.draft, "lane"))
        .await
        .as_str()
        .unwrap()
        .starts_with("lane 1"));
    let badges = |id: &str| {
        format!("return Array.from(document.querySelectorAll(\"g.node[data-id='{id}'] .badge\")).map(b => b.dataset.badge);")
    };
    assert_eq!(
        browser.js(&badges(&seed.review)).await,
        json!(["ack", "error"]),
        "waits for an ack; an ancestor of the error"
    );
    assert_eq!(browser.js(&badges(&seed.publish)).await, json!(["acked"]));
    assert_eq!(
        browser.js(&badges(&seed.retry)).await,
        json!(["comp"]),
        "compensated; the error's sender, not a receiver"
    );
    assert_eq!(browser.js(&badges(&seed.agents)).await, json!(["error"]));
    let legend = browser
        .js("return document.getElementById('legend').textContent;")
        .await;
    for words in [
        "requires acknowledgment",
        "acknowledged",
        "compensated",
        "error signal received",
        "Agent",
        "Handoff",
    ] {
        assert!(
            legend.as_str().unwrap().contains(words),
            "legend lacks {words}: {legend}"
        );
    }
    browser.save_screenshot("readable-nodes.png").await;
    // A configured JSON path replaces the first string field, and is kept.
    browser
        .js("const p = document.getElementById('summary-path'); p.value = '$.query'; p.dispatchEvent(new Event('change'));")
        .await;
    browser
        .wait(
            "the path's summary",
            &text(&seed.search, "summary").replace("return ", "return 'flights to Lisbon' === "),
        )
        .await;
    assert_eq!(
        browser.js(&text(&seed.agents, "summary")).await,
        json!("plan a trip"),
        "no such field: the first string"
    );
    browser.client.refresh().await.unwrap();
    browser
        .wait(
            "the path after reload",
            &text(&seed.draft, "summary").replace(
                "return ",
                "return !!document.querySelector('g.node') && 'itinerary' === ",
            ),
        )
        .await;
    browser
        .js("localStorage.removeItem('eventdag.summaryPath');")
        .await;
    browser.close().await;
}

/// A redacted event is visibly marked: faded dotted node with an `R`
/// badge and "(redacted)" for its summary, the reason and time in the
/// details, no payload anywhere in the page, the legend explaining it,
/// and the hash check saying it is intact although redacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redacted_events_are_marked_and_show_no_payload() {
    let port = shared().port;
    let _shared = GATE.read().await;
    // A chain of its own: the seeded chains stay as seeded.
    let root = append(
        port,
        json!({"payload": {"email": "ada@example.com"}, "kind": 4097}),
    );
    let child = append(
        port,
        json!({"payload": {"step": "after"}, "parents": [root]}),
    );
    let mark = post(
        port,
        &format!("/v1/events/{root}/redact"),
        &json!({"reason": "GDPR request 17"}),
    );
    assert_eq!(mark["payload"], Value::Null);
    let browser = Browser::start().await;
    browser.open(&format!("/?chain={root}&event={root}")).await;
    browser
        .wait(
            "the redaction in the details",
            "return !!document.getElementById('redaction') && document.querySelectorAll('g.node').length === 2;",
        )
        .await;
    let node = |id: &str, script: &str| {
        format!("const n = document.querySelector(\"g.node[data-id='{id}']\"); return {script};")
    };
    assert_eq!(
        browser
            .js(&node(&root, "n.classList.contains('redacted')"))
            .await,
        json!(true)
    );
    assert_eq!(
        browser
            .js(&node(&child, "n.classList.contains('redacted')"))
            .await,
        json!(false)
    );
    assert_eq!(
        browser
            .js(&node(
                &root,
                "Array.from(n.querySelectorAll('.badge')).map(b => b.dataset.badge)"
            ))
            .await,
        json!(["redacted"])
    );
    assert_eq!(
        browser
            .js(&node(&root, "n.querySelector('text.summary').textContent"))
            .await,
        json!("(redacted)")
    );
    assert_eq!(
        browser
            .js(&node(&child, "n.querySelector('text.summary').textContent"))
            .await,
        json!("after")
    );
    assert_eq!(
        browser
            .js("return document.querySelector('#redaction [data-field=reason]').textContent;")
            .await,
        json!("GDPR request 17")
    );
    let year = browser
        .js("return document.getElementById('redaction').textContent;")
        .await;
    assert!(year.as_str().unwrap().contains("Redacted 20"), "{year}");
    assert_eq!(
        browser
            .js("return document.getElementById('payload').textContent;")
            .await,
        json!("removed by redaction")
    );
    browser
        .wait(
            "the hash check",
            "return document.getElementById('verification').textContent.startsWith('intact, redacted');",
        )
        .await;
    let page = browser.js("return document.body.innerHTML;").await;
    assert!(
        !page.as_str().unwrap().contains("ada@example.com"),
        "no payload in the page"
    );
    let legend = browser
        .js("return document.getElementById('legend').textContent;")
        .await;
    assert!(legend.as_str().unwrap().contains("redacted"), "{legend}");
    browser.save_screenshot("redacted.png").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_view_and_a_chains_signals_in_time_order() {
    let seed = &shared().seed;
    let _shared = GATE.read().await;
    let browser = Browser::start().await;
    browser.open("/?view=queue").await;
    browser
        .wait(
            "the queue",
            &format!(
                "return !!document.querySelector(\"#pending tr[data-id='{}']\");",
                seed.queued
            ),
        )
        .await;
    let cell = |id: &str, field: &str| {
        format!("return document.querySelector(\"#pending tr[data-id='{id}'] [data-field='{field}']\").textContent.trim();")
    };
    let lease = browser.js(&cell(&seed.queued, "lease")).await;
    assert!(
        lease.as_str().unwrap().starts_with("worker-7 until"),
        "{lease}"
    );
    assert_eq!(
        browser.js(&cell(&seed.queued, "attempts")).await,
        json!("1")
    );
    assert_eq!(
        browser.js(&cell(&seed.review, "lease")).await,
        json!("free")
    );
    assert_eq!(
        browser.js(&cell(&seed.dead, "lease")).await,
        json!("dead letter")
    );
    assert!(
        browser
            .js(&format!(
                "return !document.querySelector(\"#pending tr[data-id='{}']\");",
                seed.publish
            ))
            .await
            == json!(true),
        "acknowledged events are not listed"
    );
    let dead = browser
        .js("return document.getElementById('dead').textContent;")
        .await;
    assert!(
        dead.as_str()
            .unwrap()
            .contains(&seed.dead[seed.dead.len() - 8..])
            && dead.as_str().unwrap().contains("flaky"),
        "{dead}"
    );
    browser.save_screenshot("queue.png").await;

    // The agents chain's signals, in the order they were sent.
    browser.open(&format!("/?chain={}", seed.agents)).await;
    browser
        .wait(
            "the chain's signals",
            "return document.querySelectorAll('#chain-signals .sig').length === 3;",
        )
        .await;
    let types = browser
        .js("return Array.from(document.querySelectorAll('#chain-signals .sig')).map(s => s.dataset.type);")
        .await;
    assert_eq!(
        types,
        json!(["ack", "error_propagation", "compensation_complete"])
    );
    let sequences: Vec<u64> = serde_json::from_value(
        browser
            .js("return Array.from(document.querySelectorAll('#chain-signals .sig')).map(s => Number(s.dataset.sequence));")
            .await,
    )
    .unwrap();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    let signals = browser
        .js("return document.getElementById('chain-signals').textContent;")
        .await;
    assert!(
        signals.as_str().unwrap().contains("hotel API timed out"),
        "{signals}"
    );
    // A signal's sender is one click away.
    browser
        .js("document.querySelectorAll('#chain-signals .sig a')[1].click();")
        .await;
    browser
        .wait(
            "the sender selected",
            &format!("return window.explorer.selected === '{}';", seed.retry),
        )
        .await;
    browser.save_screenshot("chain-signals.png").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_thousand_event_chain_loads_collapses_and_walks() {
    let seed = &shared().seed;
    let _alone = GATE.write().await;
    let browser = Browser::start().await;
    let started = Instant::now();
    browser.open(&format!("/?chain={}", seed.big_root)).await;
    browser
        .wait("10,000 events drawn", &format!("return window.explorer.events.size === {BIG} && document.querySelectorAll('g.node').length > 0 && document.getElementById('status').textContent.includes('{BIG} events');"))
        .await;
    let loaded = started.elapsed();
    let in_page = browser.js("return window.explorer.loadTimes;").await;
    let drawn = browser
        .js("return document.querySelectorAll('g.node').length;")
        .await
        .as_u64()
        .unwrap();
    assert!(drawn < 1000, "only what is in sight is drawn: {drawn}");
    // A real click on a node at depth 1, timed until its details show.
    let target = browser
        .js("return document.querySelector(\"g.node[data-lane='1']\").dataset.id;")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    let clicked = Instant::now();
    browser
        .client
        .find(Locator::Css(&format!("g.node[data-id='{target}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait("the clicked node's details", &format!("return !!document.querySelector(\"g.node.selected[data-id='{target}']\") && document.getElementById('payload') && document.getElementById('payload').textContent.includes('step 2');"))
        .await;
    let answered = clicked.elapsed();
    let click_in_page = browser
        .wait("the click's time", "return window.explorer.clickMs;")
        .await;
    println!(
        "10,000-event chain: loaded and drawn {loaded:?} after navigation (in the page, ms: {in_page}); \
         a click answered in {answered:?} through WebDriver ({click_in_page} ms in the page, click to next frame); {drawn} nodes drawn"
    );

    // The wheel zooms, a drag pans.
    let camera = "return document.getElementById('viewport').getAttribute('transform');";
    let before = browser.js(camera).await;
    browser.js("document.getElementById('canvas').dispatchEvent(new WheelEvent('wheel', {deltaY: -300, clientX: 300, clientY: 300, bubbles: true, cancelable: true}));").await;
    let zoomed = browser.js(camera).await;
    assert_ne!(zoomed, before, "the wheel zooms");
    browser.js("const c = document.getElementById('canvas'); c.dispatchEvent(new MouseEvent('mousedown', {clientX: 500, clientY: 400, bubbles: true})); \
                window.dispatchEvent(new MouseEvent('mousemove', {clientX: 620, clientY: 300, bubbles: true})); window.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));").await;
    assert_ne!(browser.js(camera).await, zoomed, "a drag pans");

    // Collapse lane 1 (its label) and depths 10..=2000 (the toolbar).
    browser.js("document.querySelector(\".lane-label[data-lane='1']\").dispatchEvent(new MouseEvent('click', {bubbles: true}));").await;
    browser
        .wait("lane 1 collapsed", "return document.querySelector(\".block[data-block='lane'][data-lane='1']\")?.dataset.count === '2500' && !document.querySelector(\"g.node[data-lane='1']\");")
        .await;
    browser
        .js("document.getElementById('range-from').value = '10'; document.getElementById('range-to').value = '2000'; document.getElementById('collapse-range').click();")
        .await;
    browser
        .wait("the range collapsed", "return !!document.querySelector(\".block[data-block='range'][data-from='10'][data-to='2000']\");")
        .await;
    // 1,991 depths of 4 events each (lane 1's among them).
    let hidden = browser
        .js("return document.querySelector(\".block[data-block='range']\").dataset.count;")
        .await;
    assert_eq!(hidden, json!(((2000 - 10 + 1) * 4).to_string()));
    // Depths 0..=9, the block, then depth 2001 on: all in one screen.
    browser
        .js("window.explorer.camera = {x: 40, y: 40, k: 0.55}; applyCamera();")
        .await;
    browser
        .wait(
            "the block in sight",
            "return document.querySelectorAll('g.node').length > 0;",
        )
        .await;
    browser.save_screenshot("large-collapsed.png").await;
    // Following a link to an event inside the collapsed range (history,
    // no reload) expands the range and centres the event.
    browser
        .js(&format!("history.pushState(null, '', '/?chain={}&event={}'); window.dispatchEvent(new PopStateEvent('popstate'));", seed.big_root, seed.big_deep))
        .await;
    browser
        .wait("the deep event", &format!("return window.explorer.selected === '{}' && !!document.querySelector(\"g.node.selected[data-id='{}']\");", seed.big_deep, seed.big_deep))
        .await;
    // Walk its ancestors: the spine above it, highlighted.
    browser
        .js("document.querySelector(\"button[data-walk='ancestors']\").click();")
        .await;
    browser
        .wait("the walk", "return document.getElementById('walk-result').textContent === '2000 ancestors, 0 descendants highlighted';")
        .await;
    let marked = browser
        .js("return [document.querySelectorAll('g.node.ancestor').length, document.querySelectorAll('path.edge.ancestor').length, document.querySelectorAll('g.node.dimmed').length];")
        .await;
    let marked: Vec<u64> = serde_json::from_value(marked).unwrap();
    assert!(
        marked[0] >= 3 && marked[1] >= 3 && marked[2] >= 3,
        "ancestors, their edges and the rest dimmed: {marked:?}"
    );
    browser
        .js("document.querySelector(\"button[data-walk='descendants']\").click();")
        .await;
    browser
        .wait("the descendants", "return /^0 ancestors, [1-9][0-9]* descendants highlighted$/.test(document.getElementById('walk-result').textContent) && document.querySelectorAll('g.node.descendant').length > 0;")
        .await;
    browser.save_screenshot("large-walk.png").await;
    // Zoomed far out, everything in sight is drawn as an overview, and a
    // click still selects the node under the pointer.
    browser.js("document.getElementById('fit').click();").await;
    browser
        .wait(
            "the overview",
            "return document.getElementById('canvas').dataset.mode === 'overview';",
        )
        .await;
    assert_eq!(
        browser
            .js("return document.querySelectorAll('g.node').length;")
            .await,
        json!(0)
    );
    let hit = browser
        .js("const p = window.explorer.layout.placed[0]; const r = document.getElementById('canvas').getBoundingClientRect(); const c = window.explorer.camera; \
             document.getElementById('canvas').dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: r.left + c.x + (p.x + 90) * c.k, clientY: r.top + c.y + (p.y + 28) * c.k})); return p.id;")
        .await;
    browser
        .wait(
            "the overview click",
            &format!(
                "return window.explorer.selected === '{}';",
                hit.as_str().unwrap()
            ),
        )
        .await;
    browser.save_screenshot("large-overview.png").await;
    browser.close().await;
}
