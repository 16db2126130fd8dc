//! `eventdag append`.

use std::io::Write;

use anyhow::{anyhow, Context};
use eventdag::RawJson;
use eventdag::{EventDagExt, EventFlags, EventKind, NewEvent, Placement};

use super::CliStore;
use crate::args::AppendArgs;
use crate::output;

/// Parses flag names (case-insensitive).
pub(crate) fn parse_flags(names: &[String]) -> anyhow::Result<EventFlags> {
    let mut flags = EventFlags::empty();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let flag = EventFlags::from_name(&name.to_ascii_uppercase()).ok_or_else(|| {
            anyhow!(
                "unknown flag {name:?}: accepted {}",
                EventFlags::accepted_names()
            )
        })?;
        flags |= flag;
    }
    Ok(flags)
}

pub(super) async fn run<S: CliStore>(
    store: &S,
    args: AppendArgs,
    pretty: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let payload = RawJson::from_text(&args.payload)
        .with_context(|| format!("--payload is not valid JSON: {}", args.payload))?;
    let draft = NewEvent {
        id: args.id,
        tenant_id: args.tenant,
        parents: args.parents,
        placement: Placement::Assigned { lane: args.lane },
        kind: EventKind(args.kind),
        flags: parse_flags(&args.flags)?,
        correlation_id: args.correlation,
        timestamp: None,
        payload,
    };
    let stored = store.append_new(draft).await.into_result()?;
    output::events(out, &[stored], pretty)
}
