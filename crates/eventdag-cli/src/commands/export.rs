//! `eventdag export`: a tenant's events (or one chain) as JSON lines or a
//! Graphviz digraph. Events come in commit order, so parents precede
//! children and `import` can replay the file.

use std::io::Write;

use eventdag::RawJson;
use eventdag::{Event, MAX_LIMIT};

use super::CliStore;
use crate::args::{ExportArgs, ExportFormat};
use crate::output;

pub(super) async fn run<S: CliStore>(
    store: &S,
    args: ExportArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut file;
    let mut stdout;
    let sink: &mut dyn Write = match &args.out {
        Some(path) => {
            file = std::io::BufWriter::new(std::fs::File::create(path)?);
            &mut file
        }
        None => {
            stdout = out;
            &mut stdout
        }
    };
    if matches!(args.format, ExportFormat::Dot) {
        writeln!(
            sink,
            "digraph eventdag {{\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];"
        )?;
    }
    let mut write = |events: &[Event<RawJson>]| -> anyhow::Result<()> {
        for event in events {
            match args.format {
                ExportFormat::Jsonl => output::json_line(sink, event)?,
                ExportFormat::Dot => dot_node(sink, event)?,
            }
        }
        Ok(())
    };
    match args.chain {
        Some(chain) => write(
            &store
                .find_correlation_chain(args.tenant, chain)
                .await
                .into_result()?,
        )?,
        None => {
            let mut cursor = 0;
            loop {
                let page = store
                    .events_after(args.tenant, cursor, MAX_LIMIT)
                    .await
                    .into_result()?;
                let Some(last) = page.last() else { break };
                cursor = last.cursor;
                let events: Vec<Event<RawJson>> =
                    page.into_iter().map(|entry| entry.event).collect();
                write(&events)?;
            }
        }
    }
    if matches!(args.format, ExportFormat::Dot) {
        writeln!(sink, "}}")?;
    }
    sink.flush()?;
    Ok(())
}

fn dot_node(out: &mut dyn Write, event: &Event<RawJson>) -> anyhow::Result<()> {
    let position = event.position();
    writeln!(
        out,
        "  \"{}\" [label=\"{}\\n{}\\nd{} l{} s{}\"];",
        event.id(),
        &event.id().to_string()[..8],
        event.header.event_kind,
        position.depth,
        position.lane,
        position.sequence
    )?;
    for parent in &event.parents {
        writeln!(out, "  \"{parent}\" -> \"{}\";", event.id())?;
    }
    Ok(())
}
