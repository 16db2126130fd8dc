//! `eventdag import`: JSON lines (as `export` writes them) into the store,
//! in batches of one transaction each. The whole file is parsed before
//! anything is stored; a batch the store refuses stores nothing and the
//! error names its line.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use eventdag::EventDagExt;
use eventdag::{Event, EventFlags, EventId};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::CliStore;
use crate::args::ImportArgs;
use crate::output;

pub(super) async fn run<S: CliStore>(
    store: &S,
    args: ImportArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let reader: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let events = parse(reader)?;
    let progress = ProgressBar::new(events.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let batch_size = usize::try_from(args.batch).unwrap_or(1000);
    let mut imported = 0usize;
    for batch in events.chunks(batch_size) {
        let lines: HashMap<EventId, usize> = batch
            .iter()
            .map(|(line, event)| (event.id(), *line))
            .collect();
        let first_line = batch.first().map_or(0, |(line, _)| *line);
        // Flags only the store sets are not appended (no caller may set
        // them); ACKNOWLEDGED is restored below by acknowledging, as the
        // store sets it. Hashes do not cover these flags.
        let to_store: Vec<Event<Value>> = batch
            .iter()
            .map(|(_, event)| {
                let mut event = event.clone();
                event.header.flags.remove(EventFlags::STORE_MANAGED);
                event
            })
            .collect();
        if let Err(error) = store.append_batch(to_store).await.into_result() {
            progress.abandon();
            let line = error
                .event_id()
                .as_ref()
                .and_then(|id| lines.get(id))
                .copied()
                .unwrap_or(first_line);
            bail!(
                "line {line}: {error}; the batch starting at line {first_line} was not imported ({imported} events before it were)"
            );
        }
        for (line, event) in batch.iter().filter(|(_, event)| event.is_acknowledged()) {
            store
                .acknowledge(event.id(), false)
                .await
                .into_result()
                .with_context(|| format!("line {line}: cannot restore the acknowledgment"))?;
        }
        imported += batch.len();
        progress.inc(batch.len() as u64);
    }
    progress.finish_and_clear();
    output::json_line(out, &serde_json::json!({ "imported": imported }))
}

/// Parses every line first so that a malformed file imports nothing.
fn parse(reader: impl BufRead) -> anyhow::Result<Vec<(usize, Event<Value>)>> {
    let mut events = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.with_context(|| format!("line {number}: cannot read"))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event<Value> = serde_json::from_str(&line)
            .with_context(|| format!("line {number}: not an event (nothing was imported)"))?;
        events.push((number, event));
    }
    Ok(events)
}
