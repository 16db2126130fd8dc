//! `eventdag work` on the embedded store, one process per step as a user
//! (or a shell-script worker) would run it: leases taken by one process
//! hold for the next.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{eventdag, id_of, ok_lines, stderr};

#[test]
fn claim_ack_release_dead_letter_and_requeue_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let job = |n: u32| {
        let payload = format!(r#"{{"job":{n}}}"#);
        id_of(
            &ok_lines(&eventdag(
                &data,
                &["append", "--payload", &payload, "--flags", "requires_ack"],
            ))[0],
        )
    };
    let (first, second) = (job(1), job(2));
    let claim = |consumer: &str, max_attempts: &str| {
        ok_lines(&eventdag(
            &data,
            &[
                "work",
                "claim",
                "--consumer",
                consumer,
                "--limit",
                "1",
                "--lease-ms",
                "60000",
                "--max-attempts",
                max_attempts,
            ],
        ))
    };
    let claimed = claim("w1", "5");
    assert_eq!(claimed.len(), 1);
    assert_eq!(id_of(&claimed[0]["event"]), first);
    assert_eq!(claimed[0]["attempt"], 1);
    let token = claimed[0]["lease"]["token"].as_str().unwrap().to_owned();
    // Another process does not get the leased event.
    let next = claim("w2", "5");
    assert_eq!(id_of(&next[0]["event"]), second);
    let shown = ok_lines(&eventdag(&data, &["work", "show", &first]));
    assert_eq!(shown[0]["queue"]["lease"]["consumer"], "w1");
    // A wrong token is refused while w1's lease is valid.
    let refused = eventdag(
        &data,
        &[
            "work",
            "ack",
            &first,
            "--token",
            next[0]["lease"]["token"].as_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("lease"), "{}", stderr(&refused));
    ok_lines(&eventdag(
        &data,
        &["work", "ack", &first, "--token", &token],
    ));
    assert!(ok_lines(&eventdag(&data, &["unacked"]))
        .iter()
        .all(|e| id_of(e) != first));
    // Released with max_attempts 1, the second event is dead-lettered by
    // the next claim, listed, and requeued.
    let token2 = next[0]["lease"]["token"].as_str().unwrap().to_owned();
    ok_lines(&eventdag(
        &data,
        &["work", "release", &second, "--token", &token2],
    ));
    assert!(claim("w3", "1").is_empty());
    let dead = ok_lines(&eventdag(&data, &["work", "dead"]));
    assert_eq!(dead.len(), 1);
    assert_eq!(id_of(&dead[0]["event"]), second);
    assert_eq!(dead[0]["last_consumer"], "w2");
    ok_lines(&eventdag(&data, &["work", "requeue", &second]));
    let back = claim("w4", "1");
    assert_eq!(id_of(&back[0]["event"]), second);
    assert_eq!(back[0]["attempt"], 1);
}
