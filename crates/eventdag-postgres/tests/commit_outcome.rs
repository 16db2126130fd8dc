//! What an append says when it fails at COMMIT, where it may or may not
//! have been committed, and when it fails before, where nothing was
//! written. COMMIT is made to fail deterministically with a deferred
//! constraint trigger on `eventdag_events` in the test's scratch
//! database: every statement of the append succeeds, and the trigger runs
//! inside COMMIT.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use eventdag::{new_event_id, DagStore, ErrorEffect, EventDag, EventDagExt, NewEvent};
use eventdag_postgres::{PgDag, PgOptions};
use serde_json::{json, Value};

/// Makes every later append fail where `timing` says: `DEFERRABLE
/// INITIALLY DEFERRED` (inside COMMIT) or `NOT DEFERRABLE` (at the
/// INSERT), running `body` in PL/pgSQL.
async fn sabotage(store: &PgDag<Value>, timing: &str, body: &str) {
    sabotage_on(store, "INSERT", timing, body).await;
}

/// [`sabotage`] for writes that `event` (`INSERT`, `UPDATE`) the events.
async fn sabotage_on(store: &PgDag<Value>, event: &str, timing: &str, body: &str) {
    let function = format!(
        "CREATE FUNCTION eventdag_test_sabotage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
    );
    let trigger = format!(
        "CREATE CONSTRAINT TRIGGER eventdag_test_sabotage AFTER {event} ON eventdag_events {timing} FOR EACH ROW EXECUTE FUNCTION eventdag_test_sabotage()"
    );
    for statement in [function, trigger] {
        sqlx::query(&statement).execute(store.pool()).await.unwrap();
    }
}

async fn repair(store: &PgDag<Value>) {
    sqlx::query("DROP FUNCTION eventdag_test_sabotage() CASCADE")
        .execute(store.pool())
        .await
        .unwrap();
}

/// The error of a refused append of `drafts`.
async fn refused(store: &PgDag<Value>, drafts: Vec<NewEvent<Value>>) -> ErrorEffect {
    match store.append_events(drafts).await.into_result() {
        Ok(stored) => panic!("the sabotaged append succeeded: {stored:?}"),
        Err(error) => error,
    }
}

fn assert_outcome_unknown(error: &ErrorEffect, operation: &str, id: eventdag::EventId) {
    let message = error.to_string();
    assert!(
        matches!(error, ErrorEffect::OutcomeUnknown { operation: op, event_id, .. } if op == operation && *event_id == id),
        "{error:?}"
    );
    assert!(error.is_operational());
    assert_eq!(error.code(), "outcome_unknown");
    assert_eq!(error.event_id(), Some(id));
    assert!(
        message.contains(&id.to_string()) && message.contains("read") && message.contains("retry"),
        "says which event to read or retry: {message}"
    );
    assert!(!message.contains("nothing"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_at_commit_is_outcome_unknown_naming_the_event() {
    let (store, _guard) = common::fresh().await;
    sabotage(
        &store,
        "DEFERRABLE INITIALLY DEFERRED",
        "RAISE EXCEPTION 'refused at commit';",
    )
    .await;
    let id = new_event_id();
    let error = refused(&store, vec![NewEvent::new(json!(1)).id(id)]).await;
    assert_outcome_unknown(&error, "append", id);

    // A batch names its first event: it is all or none, so reading that
    // one tells the outcome of all.
    let first = new_event_id();
    let batch = vec![
        NewEvent::new(json!(2)).id(first),
        NewEvent::new(json!(3)).parents([first]),
    ];
    let error = refused(&store, batch).await;
    assert_outcome_unknown(&error, "append_batch", first);

    // Retrying with the same id, as the message says, settles it.
    repair(&store).await;
    let stored = store
        .append_new(NewEvent::new(json!(1)).id(id))
        .await
        .ok()
        .unwrap();
    assert_eq!(stored.id(), id);
    assert_eq!(store.read(id).await.ok().unwrap().payload, json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_at_commit_is_outcome_unknown() {
    let (store, _guard) = common::fresh().await;
    // The backend terminates itself inside COMMIT: the client sees the
    // connection go away with no answer to its COMMIT.
    sabotage(
        &store,
        "DEFERRABLE INITIALLY DEFERRED",
        "PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(1);",
    )
    .await;
    let id = new_event_id();
    let error = refused(&store, vec![NewEvent::new(json!(1)).id(id)]).await;
    assert_outcome_unknown(&error, "append", id);
    repair(&store).await;
    assert!(store.read(id).await.is_err(), "PostgreSQL rolled it back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_before_commit_says_nothing_was_written() {
    let (store, _guard) = common::fresh().await;
    sabotage(
        &store,
        "NOT DEFERRABLE",
        "RAISE EXCEPTION 'refused at insert';",
    )
    .await;
    let id = new_event_id();
    let error = refused(&store, vec![NewEvent::new(json!(1)).id(id)]).await;
    let message = error.to_string();
    assert!(
        matches!(&error, ErrorEffect::StorageUnavailable { operation, .. } if operation == "append"),
        "{error:?}"
    );
    assert!(
        message.contains("append")
            && message.contains("nothing")
            && !message.contains("during read"),
        "{message}"
    );
    repair(&store).await;
    assert!(store.read(id).await.is_err());
}

/// The operation timeout passing while COMMIT is in flight is an unknown
/// outcome too — and here the commit does land after the caller gave up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_during_commit_is_outcome_unknown_and_the_commit_may_land() {
    let options = PgOptions::new()
        .max_connections(4)
        .operation_timeout(Duration::from_millis(500));
    let (store, _guard) = common::fresh_with(options).await;
    sabotage(
        &store,
        "DEFERRABLE INITIALLY DEFERRED",
        "PERFORM pg_sleep(2);",
    )
    .await;
    let id = new_event_id();
    let error = refused(&store, vec![NewEvent::new(json!(1)).id(id)]).await;
    assert_outcome_unknown(&error, "append", id);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.read(id).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the commit the caller gave up on never landed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Acknowledgments (and signals, the same transaction code) name their
/// event and say how to find out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgment_failing_at_commit_is_outcome_unknown() {
    let (store, _guard) = common::fresh().await;
    let event = store
        .append_new(NewEvent::new(json!(1)).flags(eventdag::EventFlags::REQUIRES_ACK))
        .await
        .ok()
        .unwrap();
    sabotage_on(
        &store,
        "UPDATE",
        "DEFERRABLE INITIALLY DEFERRED",
        "RAISE EXCEPTION 'refused at commit';",
    )
    .await;
    let error = store
        .acknowledge(event.id(), false)
        .await
        .into_result()
        .unwrap_err();
    assert!(
        matches!(&error, ErrorEffect::OutcomeUnknown { operation, event_id, .. } if operation == "acknowledge" && *event_id == event.id()),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("acknowledge it again"),
        "{error}"
    );
}
