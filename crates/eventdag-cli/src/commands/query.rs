//! Reading commands (`get`, walks, `chain`, `unacked`) and the two small
//! writers (`ack`, `signal`).

use std::io::Write;

use anyhow::Context;
use eventdag::{UpstreamSignal, MAX_LIMIT};
use uuid::Uuid;

use super::CliStore;
use crate::args::WalkArgs;
use crate::output;

pub(super) async fn get<S: CliStore>(
    store: &S,
    id: Uuid,
    pretty: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let event = store.read(id).await.into_result()?;
    output::events(out, &[event], pretty)
}

pub(super) async fn ancestors<S: CliStore>(
    store: &S,
    walk: WalkArgs,
    pretty: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let events = store
        .walk_ancestors(walk.id, walk.limit)
        .await
        .into_result()?;
    output::events(out, &events, pretty)
}

pub(super) async fn descendants<S: CliStore>(
    store: &S,
    walk: WalkArgs,
    pretty: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let events = store
        .walk_descendants(walk.id, walk.limit)
        .await
        .into_result()?;
    output::events(out, &events, pretty)
}

pub(super) async fn chain<S: CliStore>(
    store: &S,
    tenant: Uuid,
    correlation_id: Uuid,
    pretty: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let events = store
        .find_correlation_chain(tenant, correlation_id)
        .await
        .into_result()?;
    output::events(out, &events, pretty)
}

pub(super) async fn unacked<S: CliStore>(
    store: &S,
    tenant: Uuid,
    limit: usize,
    pretty: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let events = store
        .unacknowledged_for_tenant(tenant, limit)
        .await
        .into_result()?;
    output::events(out, &events, pretty)
}

pub(super) async fn ack<S: CliStore>(
    store: &S,
    id: Uuid,
    upstream: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    store.acknowledge(id, upstream).await.into_result()?;
    output::json_line(
        out,
        &serde_json::json!({ "acknowledged": id, "upstream": upstream }),
    )
}

pub(super) async fn signal<S: CliStore>(
    store: &S,
    id: Uuid,
    signal: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if let Some(text) = signal {
        let signal: UpstreamSignal = serde_json::from_str(text).with_context(|| {
            format!(
                "signal {text:?} is not an upstream signal; accepted: {{\"type\": \"ack\"|\"backpressure\"|\"cancel\"|\"compensation_complete\"|\"error_propagation\", …}}"
            )
        })?;
        store.signal_upstream(id, signal).await.into_result()?;
    }
    for record in store.signals_of(id, MAX_LIMIT).await.into_result()? {
        output::json_line(out, &record)?;
    }
    Ok(())
}
