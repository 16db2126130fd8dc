//! A consumer killed mid-lease (SPEC §9, §5): a child process (the test
//! binary again, told by an environment variable to be the child) claims
//! events, prints what it holds and waits; the parent SIGKILLs it, then
//! checks on a fresh store handle that the leases survived the kill (no
//! one else gets those events while they are valid) and that the events
//! come back, with their attempt raised, once the leases end.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use eventdag::{ClaimRequest, EventId, EventKind, DEFAULT_TENANT};

use crate::cases::queue::{work, QueueStore};
use crate::support::ok;

/// Events the parent queues.
pub const QUEUED: usize = 20;
/// Events the child claims.
pub const CLAIMED: usize = 5;
/// The child's lease: long enough to see it hold after the kill.
pub const CHILD_LEASE: Duration = Duration::from_millis(1_500);

/// Queues [`QUEUED`] REQUIRES_ACK events for the child to claim.
pub async fn prepare<S: QueueStore>(store: &S) -> Vec<EventId> {
    work(store, DEFAULT_TENANT, None, EventKind::DATA, QUEUED)
        .await
        .iter()
        .map(eventdag::Event::id)
        .collect()
}

/// The child: claims [`CLAIMED`] events, prints `leased <id> <deadline>`
/// for each and `ready`, and waits to be killed.
pub async fn child<S: QueueStore>(store: &S) -> ! {
    let claimed = ok(store
        .claim(ClaimRequest::new(
            DEFAULT_TENANT,
            "doomed",
            CLAIMED,
            CHILD_LEASE,
        ))
        .await);
    for claimed in &claimed {
        println!("leased {} {}", claimed.event.id(), claimed.lease.deadline);
    }
    println!("ready");
    loop {
        tokio::time::sleep(Duration::from_secs(3_600)).await;
    }
}

/// Runs `exe`'s test `test_name` as the child with `env` set, waits for
/// its `ready`, SIGKILLs it and returns the leases it printed.
pub fn run_and_kill(exe: &Path, test_name: &str, env: (&str, &str)) -> Vec<(EventId, u64)> {
    let mut child = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(env.0, env.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut leases = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the child");
        // libtest prints `test <name> ... ` without a newline before the
        // child's first line.
        if line.ends_with("ready") {
            break;
        }
        if let Some(rest) = line.find("leased ").map(|at| &line[at + 7..]) {
            let (id, deadline) = rest.split_once(' ').expect("leased <id> <deadline>");
            leases.push((id.parse().unwrap(), deadline.parse().unwrap()));
        }
    }
    // `Child::kill` is SIGKILL on Unix: no destructor, no flush, no
    // goodbye to the store.
    child.kill().expect("kill -9 the child");
    child.wait().expect("reap the child");
    assert_eq!(leases.len(), CLAIMED, "the child did not report its claim");
    leases
}

/// The parent after the kill: while the child's leases are valid nobody
/// gets those events; after their deadline they are delivered again with
/// attempt 2.
pub async fn check_after_kill<S: QueueStore>(
    store: &S,
    queued: &[EventId],
    leases: &[(EventId, u64)],
) {
    let held: Vec<EventId> = leases.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        held,
        queued[..CLAIMED],
        "the child claimed the oldest events"
    );
    let now = eventdag::now_micros();
    let first_deadline = leases.iter().map(|(_, d)| *d).min().unwrap();
    assert!(
        first_deadline > now,
        "the leases ended before the check could run; raise CHILD_LEASE"
    );
    let others = ok(store
        .claim(ClaimRequest::new(
            DEFAULT_TENANT,
            "survivor",
            QUEUED,
            CHILD_LEASE,
        ))
        .await);
    let other_ids: Vec<EventId> = others.iter().map(|claimed| claimed.event.id()).collect();
    assert_eq!(
        other_ids,
        queued[CLAIMED..],
        "a killed consumer's valid lease was handed out"
    );
    let last_deadline = leases
        .iter()
        .map(|(_, deadline)| *deadline)
        .chain(others.iter().map(|claimed| claimed.lease.deadline))
        .max()
        .unwrap();
    let wait = last_deadline.saturating_sub(eventdag::now_micros()) + 200_000;
    tokio::time::sleep(Duration::from_micros(wait)).await;
    // Every lease has ended, the child's and the survivor's: all come
    // back, each on its second delivery.
    let again = ok(store
        .claim(ClaimRequest::new(
            DEFAULT_TENANT,
            "heir",
            QUEUED,
            Duration::from_secs(60),
        ))
        .await);
    let redelivered: Vec<EventId> = again.iter().map(|claimed| claimed.event.id()).collect();
    assert_eq!(
        redelivered, queued,
        "expired leases did not come back in queue order"
    );
    for claimed in again {
        assert_eq!(claimed.attempt, 2, "{} attempt", claimed.event.id());
    }
}
