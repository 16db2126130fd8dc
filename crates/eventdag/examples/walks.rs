//! Builds a small DAG on `MemoryDag` — a fork, a merge, an acknowledgment
//! sent upstream — and prints its walks.
#![allow(clippy::expect_used)]

use eventdag::{
    DagStore, EventDag, EventDagExt, EventFlags, EventKind, MemoryDag, NewEvent, DEFAULT_TENANT,
};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), eventdag::ErrorEffect> {
    let dag = MemoryDag::<Value>::new();
    let plan = dag
        .append_root(
            DEFAULT_TENANT,
            EventKind::TRAJECTORY,
            json!({"step": "plan"}),
        )
        .await
        .into_result()?;
    let search = dag
        .append_child(plan.id(), EventKind::AGENT, json!({"step": "search"}))
        .await
        .into_result()?;
    let draft = dag
        .fork(plan.id(), 1, EventKind::AGENT, json!({"step": "draft"}))
        .await
        .into_result()?;
    let review = dag
        .append_new(
            NewEvent::new(json!({"step": "review"}))
                .parents([search.id(), draft.id()])
                .kind(EventKind::HANDOFF)
                .flags(EventFlags::REQUIRES_ACK),
        )
        .await
        .into_result()?;
    dag.acknowledge(review.id(), true).await.into_result()?;

    let show = |title: &str, events: &[eventdag::Event<Value>]| {
        println!("{title}:");
        for event in events {
            println!("  {}  {}  {}", event.id(), event.position(), event.payload);
        }
    };
    show(
        "ancestors of review",
        &dag.walk_ancestors(review.id(), 10).await.into_result()?,
    );
    show(
        "descendants of plan",
        &dag.walk_descendants(plan.id(), 10).await.into_result()?,
    );
    show(
        "correlation chain",
        &dag.find_correlation_chain(DEFAULT_TENANT, plan.id())
            .await
            .into_result()?,
    );
    for record in dag.signals_of(plan.id(), 10).await.into_result()? {
        println!(
            "signal {} from {} reached {} ancestors",
            record.signal.type_name(),
            record.from,
            record.delivered_to.len()
        );
    }
    let verified = dag
        .verify_chain(DEFAULT_TENANT, plan.id())
        .await
        .into_result()?;
    println!(
        "verified {} events, intact: {}",
        verified.checked,
        verified.is_intact()
    );
    Ok(())
}
