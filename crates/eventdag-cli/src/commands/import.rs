//! `eventdag import`: JSON lines (as `export` writes them) into the store,
//! in batches of one transaction each. The whole file is parsed, and
//! every line's hash checked ([`super::import_check`]), before anything is
//! stored; a batch the store refuses stores nothing and the error names
//! its line. One JSON line of counts is printed, also when it fails.
//!
//! A redacted line (its payload is gone; its hash was checked against
//! the payload hash its mark kept) is stored with the `null` payload it
//! carries and redacted again with its reason, so that it reads as
//! redacted here too. Its hash in this store is the one of that new
//! content, as for every imported event sealed again.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use eventdag::RawJson;
use eventdag::{ErrorEffect, EventDagExt};
use eventdag::{Event, EventFlags, EventId};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::{import_check, CliStore};
use crate::args::ImportArgs;
use crate::output;

/// The most refused lines an error lists (the count is in the output).
const LISTED_REFUSALS: usize = 10;

/// Point reads in flight while telling stored events from new ones (a
/// round trip each on PostgreSQL).
const CONCURRENT_READS: usize = 16;

/// What an import did with the lines of its file; they add up to the
/// number of events in the file.
#[derive(Debug, Default, Serialize)]
struct Counts {
    /// Events this run stored.
    imported: usize,
    /// Events the store already held, identical (idempotent re-appends),
    /// or repeated in the file.
    already_present: usize,
    /// Events not stored because a line was refused: every line when the
    /// hash check refuses one (nothing is stored then), else the batch
    /// the store refused and every line after it.
    refused: usize,
}

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
    let mut counts = Counts::default();
    if !args.rehash {
        let refused = import_check::check(store, &events).await?;
        if !refused.is_empty() {
            counts.refused = events.len();
            output::json_line(out, &counts)?;
            bail!("{}", describe(&refused));
        }
    }
    let progress = ProgressBar::new(events.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let batch_size = usize::try_from(args.batch).unwrap_or(1000);
    let mut seen: HashSet<EventId> = HashSet::with_capacity(events.len());
    for batch in events.chunks(batch_size) {
        let present = present_before(store, batch, &mut seen).await?;
        if let Err(error) = append(store, batch).await {
            progress.abandon();
            counts.refused = events.len() - counts.imported - counts.already_present;
            output::json_line(out, &counts)?;
            return Err(error);
        }
        counts.already_present += present;
        counts.imported += batch.len() - present;
        for (line, event) in batch.iter().filter(|(_, event)| event.is_acknowledged()) {
            store
                .acknowledge(event.id(), false)
                .await
                .into_result()
                .with_context(|| format!("line {line}: cannot restore the acknowledgment"))?;
        }
        for (line, event) in batch {
            if let Some(mark) = &event.redaction {
                store
                    .redact(event.tenant_id, event.id(), mark.reason.clone())
                    .await
                    .into_result()
                    .with_context(|| format!("line {line}: cannot restore the redaction"))?;
            }
        }
        progress.inc(batch.len() as u64);
    }
    progress.finish_and_clear();
    output::json_line(out, &counts)
}

/// Appends one batch (all or none); the error names the refused line.
async fn append<S: CliStore>(store: &S, batch: &[(usize, Event<RawJson>)]) -> anyhow::Result<()> {
    let lines: HashMap<EventId, usize> = batch
        .iter()
        .map(|(line, event)| (event.id(), *line))
        .collect();
    let first_line = batch.first().map_or(0, |(line, _)| *line);
    // Flags only the store sets are not appended (no caller may set
    // them); ACKNOWLEDGED is restored by acknowledging, as the store sets
    // it. Hashes do not cover these flags.
    let to_store: Vec<Event<RawJson>> = batch
        .iter()
        .map(|(_, event)| {
            let mut event = event.clone();
            event.header.flags.remove(EventFlags::STORE_MANAGED);
            event
        })
        .collect();
    if let Err(error) = store.append_batch(to_store).await.into_result() {
        let line = error
            .event_id()
            .as_ref()
            .and_then(|id| lines.get(id))
            .copied()
            .unwrap_or(first_line);
        bail!("line {line}: {error}; the batch starting at line {first_line} was not imported");
    }
    Ok(())
}

/// How many events of `batch` the store holds already, or an earlier line
/// of the file named (appending them again changes nothing). Read just
/// before the batch, a few at a time; an event another writer appends in
/// between counts as imported.
async fn present_before<S: CliStore>(
    store: &S,
    batch: &[(usize, Event<RawJson>)],
    seen: &mut HashSet<EventId>,
) -> anyhow::Result<usize> {
    let mut present = 0;
    let mut to_read = Vec::with_capacity(batch.len());
    for (line, event) in batch {
        if seen.insert(event.id()) {
            to_read.push((*line, event.id()));
        } else {
            present += 1;
        }
    }
    let mut reads = futures::stream::iter(to_read)
        .map(|(line, id)| async move { (line, id, store.stored_record(id).await.into_result()) })
        .buffered(CONCURRENT_READS);
    while let Some((line, id, read)) = reads.next().await {
        match read {
            Ok(_) => present += 1,
            Err(ErrorEffect::NotFound { .. }) => {}
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("line {line}: cannot tell whether event {id} is stored")
                })
            }
        }
    }
    Ok(present)
}

/// The error for lines the hash check refused.
fn describe(refused: &[import_check::Refusal]) -> String {
    let mut text: Vec<String> = refused
        .iter()
        .take(LISTED_REFUSALS)
        .map(ToString::to_string)
        .collect();
    if refused.len() > LISTED_REFUSALS {
        text.push(format!("… and {} more", refused.len() - LISTED_REFUSALS));
    }
    format!(
        "{}\nnothing was imported: {} line(s) do not match their hashes; import with --rehash only to store edited data on purpose (it seals it again)",
        text.join("\n"),
        refused.len()
    )
}

/// Parses every line first so that a malformed file imports nothing.
fn parse(reader: impl BufRead) -> anyhow::Result<Vec<(usize, Event<RawJson>)>> {
    let mut events = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.with_context(|| format!("line {number}: cannot read"))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event<RawJson> = serde_json::from_str(&line)
            .with_context(|| format!("line {number}: not an event (nothing was imported)"))?;
        events.push((number, event));
    }
    Ok(events)
}
