//! Live streams: resumable with `Last-Event-ID`, filtered, starting now.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use eventdag::DEFAULT_TENANT;
use eventdag_server::ServerStore;
use serde_json::json;

use super::{id_of, test_config, Api, SseReader};

const WRITERS: usize = 4;
const PER_WRITER: usize = 60;

pub async fn event_stream_resumes_exactly_once_after_a_burst<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(Arc::clone(&store), test_config());
    let mut reader = SseReader::open(&api, "/v1/streams/events", None)
        .await
        .ok()
        .unwrap();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let api = api.clone();
        writers.push(tokio::spawn(async move {
            let root = api.append(json!({"payload": {"writer": writer}})).await;
            for n in 1..PER_WRITER {
                api.append(
                    json!({"payload": {"writer": writer, "n": n}, "parents": [id_of(&root)]}),
                )
                .await;
                if n % 8 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    // Read part of the burst, then disconnect while the writers go on.
    let mut seen = Vec::new();
    while seen.len() < 40 {
        let event = reader
            .next(Duration::from_secs(10))
            .await
            .expect("events flow");
        seen.push(event);
    }
    drop(reader);
    for writer in writers {
        writer.await.unwrap();
    }
    let last = seen.last().unwrap().id.unwrap();
    let mut resumed = SseReader::open(&api, "/v1/streams/events", Some(last))
        .await
        .ok()
        .unwrap();
    let total = WRITERS * PER_WRITER;
    while seen.len() < total {
        match resumed.next(Duration::from_secs(10)).await {
            Some(event) => seen.push(event),
            None => break,
        }
    }
    assert!(
        resumed.next(Duration::from_millis(200)).await.is_none(),
        "nothing beyond the burst"
    );
    let committed: Vec<String> = store
        .events_after(DEFAULT_TENANT, 0, 10_000)
        .await
        .ok()
        .unwrap()
        .into_iter()
        .map(|entry| entry.event.id().to_string())
        .collect();
    assert_eq!(committed.len(), total);
    let received: Vec<String> = seen.iter().map(|event| id_of(&event.data)).collect();
    let distinct: HashSet<&String> = received.iter().collect();
    assert_eq!(distinct.len(), received.len(), "no event twice");
    assert_eq!(received, committed, "every event, in commit order");
    let ids: Vec<u64> = seen.iter().map(|event| event.id.unwrap()).collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "cursors increase"
    );
    assert!(seen.iter().all(|event| event.event == "event"));
}

pub async fn event_stream_filters_and_starts_now<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let old = api.append(json!({"payload": "before"})).await;
    let a = api.append(json!({"payload": "a"})).await;
    let b = api.append(json!({"payload": "b"})).await;
    let mut all = SseReader::open(&api, "/v1/streams/events", None)
        .await
        .ok()
        .unwrap();
    let mut only_a = SseReader::open(
        &api,
        &format!("/v1/streams/events?correlation_id={}", id_of(&a)),
        None,
    )
    .await
    .ok()
    .unwrap();
    let mut only_kind = SseReader::open(&api, "/v1/streams/events?kind=12", None)
        .await
        .ok()
        .unwrap();
    let a1 = api
        .append(json!({"payload": "a1", "parents": [id_of(&a)]}))
        .await;
    let b1 = api
        .append(json!({"payload": "b1", "parents": [id_of(&b)], "kind": 12}))
        .await;
    let quiet = Duration::from_millis(300);
    let ids = |events: Vec<super::Sse>| -> Vec<String> {
        events.iter().map(|event| id_of(&event.data)).collect()
    };
    assert_eq!(
        ids(all.drain(quiet).await),
        [id_of(&a1), id_of(&b1)],
        "starts now"
    );
    assert_eq!(ids(only_a.drain(quiet).await), [id_of(&a1)]);
    assert_eq!(ids(only_kind.drain(quiet).await), [id_of(&b1)]);
    let mut replay = SseReader::open(&api, "/v1/streams/events?after=0", None)
        .await
        .ok()
        .unwrap();
    let replayed = ids(replay.drain(quiet).await);
    assert_eq!(
        replayed.first(),
        Some(&id_of(&old)),
        "after=0 replays the log"
    );
    assert_eq!(replayed.len(), 5);
}

pub async fn signal_stream_follows_signals<S: ServerStore>(store: Arc<S>) {
    let api = Api::new(store, test_config());
    let root = api.append(json!({"payload": "root"})).await;
    let child = api
        .append(json!({"payload": "child", "parents": [id_of(&root)]}))
        .await;
    let unrelated = api.append(json!({"payload": "other"})).await;
    let mut to_root = SseReader::open(
        &api,
        &format!("/v1/streams/signals?event_id={}", id_of(&root)),
        None,
    )
    .await
    .ok()
    .unwrap();
    let send = |from: String, body: serde_json::Value| {
        let api = api.clone();
        async move {
            let reply = api.post(&format!("/v1/events/{from}/signals"), &body).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        }
    };
    send(
        id_of(&child),
        json!({"type": "ack", "event_id": id_of(&child)}),
    )
    .await;
    send(
        id_of(&unrelated),
        json!({"type": "backpressure", "until": 1}),
    )
    .await;
    send(id_of(&child), json!({"type": "backpressure", "until": 2})).await;
    let first = to_root.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.event, "signal");
    assert_eq!(first.data["signal"]["type"], "ack");
    assert_eq!(first.data["delivered_to"], json!([id_of(&root)]));
    drop(to_root);
    let mut resumed = SseReader::open(
        &api,
        &format!("/v1/streams/signals?event_id={}", id_of(&root)),
        first.id,
    )
    .await
    .ok()
    .unwrap();
    let rest = resumed.drain(Duration::from_millis(300)).await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(
        rest[0].data["signal"],
        json!({"type": "backpressure", "until": 2})
    );
    let missing = SseReader::open(
        &api,
        &format!("/v1/streams/signals?event_id={}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!(missing.err().unwrap().status, StatusCode::NOT_FOUND);
}
