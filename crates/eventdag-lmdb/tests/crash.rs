//! Durability under `kill -9`: a child process (this test again, run by
//! the test itself with an environment variable that makes it the child)
//! appends, acknowledges and signals in a loop and prints every id it got
//! `Ok` for; the parent SIGKILLs it at
//! random moments 50 times, reopens the store each time and checks that
//! every acknowledged id is readable and that every index agrees with the
//! events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventdag::{
    DagStore, EventDag, EventDagExt, EventFlags, EventId, EventKind, NewEvent, UpstreamSignal,
    DEFAULT_TENANT,
};
use eventdag_lmdb::LmdbDag;
use rand::Rng;
use serde_json::{json, Value};

const CHILD_DIR: &str = "EVENTDAG_CRASH_CHILD_DIR";
const KILLS: usize = 50;

/// The child's loop: writes until it is killed.
fn run_child(dir: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store: LmdbDag<Value> = LmdbDag::open(dir).expect("child opens the store");
        let out = Arc::new(Mutex::new(std::io::stdout()));
        let mut tasks = Vec::new();
        for writer in 0..4u64 {
            let (store, out) = (store.clone(), Arc::clone(&out));
            tasks.push(tokio::spawn(async move {
                child_writer(&store, &out, writer).await
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}

fn report(out: &Mutex<std::io::Stdout>, ids: &[EventId]) {
    let mut out = out.lock().unwrap();
    for id in ids {
        writeln!(out, "acked {id}").unwrap();
    }
    out.flush().unwrap();
}

async fn child_writer(store: &LmdbDag<Value>, out: &Mutex<std::io::Stdout>, writer: u64) {
    let mut last: Option<EventId> = None;
    for n in 0u64.. {
        let payload = json!({"writer": writer, "n": n, "pad": "x".repeat(200)});
        let draft = match last {
            Some(parent) if n % 7 != 0 => NewEvent::new(payload).parents([parent]),
            _ => NewEvent::new(payload).lane(u32::try_from(writer).unwrap()),
        }
        .flags(EventFlags::REQUIRES_ACK)
        .kind(EventKind::NOTE);
        if n % 5 == 4 {
            let second = NewEvent::new(json!({"batch": n})).tenant(DEFAULT_TENANT);
            let stored = store
                .append_new_batch(vec![draft, second])
                .await
                .ok()
                .unwrap();
            let ids: Vec<EventId> = stored.iter().map(|event| event.id()).collect();
            report(out, &ids);
            last = ids.first().copied();
        } else {
            let event = store.append_new(draft).await.ok().unwrap();
            report(out, &[event.id()]);
            last = Some(event.id());
        }
        if let Some(id) = last {
            if n % 3 == 0 {
                store.acknowledge(id, true).await.ok().unwrap();
            } else if n % 11 == 0 {
                let signal = UpstreamSignal::ErrorPropagation {
                    source_event_id: id,
                    error_code: 7,
                    message: "crash test".into(),
                };
                store.signal_upstream(id, signal).await.ok().unwrap();
            }
        }
    }
}

#[test]
fn kill_9_loses_no_acknowledged_write() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        // Started by the parent below: be the child, until killed.
        run_child(&dir);
        unreachable!("the child writes until it is killed");
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rng = rand::rng();
    let mut acknowledged: Vec<EventId> = Vec::new();
    let started = Instant::now();
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "kill_9_loses_no_acknowledged_write",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| line.strip_prefix("acked ").and_then(|id| id.parse().ok()))
                .collect::<Vec<EventId>>()
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(30..200)));
        child.kill().unwrap();
        child.wait().unwrap();
        let ids = reader.join().unwrap();
        acknowledged.extend(ids);

        runtime.block_on(async {
            let store: LmdbDag<Value> = LmdbDag::open(dir.path()).expect("reopen after kill -9");
            for id in &acknowledged {
                let event = store.read(*id).await;
                assert!(
                    event.is_ok(),
                    "round {round}: acknowledged {id} lost: {event:?}"
                );
            }
            let report = store.check_consistency().await.ok().unwrap();
            assert!(report.is_consistent(), "round {round}: {report:?}");
            assert!(store.check_health().await.is_ok());
        });
    }
    assert!(
        acknowledged.len() > KILLS,
        "the children acknowledged only {} writes in {KILLS} rounds",
        acknowledged.len()
    );
    eprintln!(
        "{KILLS} kills, {} acknowledged writes checked, {:?}",
        acknowledged.len(),
        started.elapsed()
    );
}
