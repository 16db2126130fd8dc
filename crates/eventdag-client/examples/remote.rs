//! A producer and a follower on another machine's EventDag.
//!
//! `cargo run -p eventdag-client --example remote` starts a throwaway
//! in-memory server in this process and talks to it over HTTP; set
//! `EVENTDAG_URL` (and `EVENTDAG_API_KEY`) to talk to a real
//! `eventdag serve` instead.

use std::sync::Arc;
use std::time::Duration;

use eventdag::prelude::*;
use eventdag_client::{EventFilter, RemoteDag};
use futures::StreamExt;
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = match std::env::var("EVENTDAG_URL") {
        Ok(url) => url,
        Err(_) => local_server().await?,
    };
    let key = std::env::var("EVENTDAG_API_KEY").ok();
    let mut builder = RemoteDag::builder(&url).timeout(Duration::from_secs(10));
    if let Some(key) = key {
        builder = builder.api_key(key);
    }
    let dag: RemoteDag<Value> = builder.build()?;

    // Code written against LmdbDag: only the line above differs.
    let plan = dag
        .append_new(NewEvent::new(json!({"step": "plan"})))
        .await
        .into_result()?;
    let mut follow = dag.event_stream(EventFilter {
        correlation_id: Some(plan.header.correlation_id),
        after: Some(0),
        ..EventFilter::default()
    });
    let act = dag
        .append_new(
            NewEvent::new(json!({"step": "act"}))
                .parents([plan.id()])
                .flags(EventFlags::REQUIRES_ACK),
        )
        .await
        .into_result()?;
    for _ in 0..2 {
        if let Some(Ok(item)) = follow.next().await {
            println!("followed #{}: {}", item.cursor, item.event.payload);
        }
    }
    let line = dag.walk_ancestors(act.id(), 10).await.into_result()?;
    let payloads: Vec<String> = line.iter().map(|e| e.payload.to_string()).collect();
    println!("ancestors of act: {}", payloads.join(" <- "));

    // Backpressure comes back as Effect::Retry, as from an embedded store.
    let until = eventdag::now_micros() + 200_000;
    dag.signal_upstream(act.id(), UpstreamSignal::Backpressure { until })
        .await
        .into_result()?;
    let draft = NewEvent::new(json!({"step": "report"})).parents([act.id()]);
    loop {
        match dag.append_new(draft.clone()).await {
            Effect::Retry { after, .. } => {
                println!("held, retrying in {after:?}");
                tokio::time::sleep(after).await;
            }
            other => {
                println!("stored {}", other.into_result()?.id());
                break;
            }
        }
    }
    dag.acknowledge(act.id(), true).await.into_result()?;
    println!(
        "unacknowledged now: {}",
        dag.unacknowledged(10).await.into_result()?.len()
    );
    Ok(())
}

/// An in-memory server on a free loopback port; its URL.
async fn local_server() -> Result<String, Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = eventdag_server::AppState::new(
        Arc::new(MemoryDag::<eventdag::RawJson>::new()),
        eventdag_server::ServerConfig::default(),
    );
    tokio::spawn(eventdag_server::serve_listener(
        state,
        listener,
        std::future::pending(),
    ));
    Ok(url)
}
