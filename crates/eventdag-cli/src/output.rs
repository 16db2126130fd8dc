//! Printing events: JSON lines for programs, tables for people.

use std::io::Write;

use eventdag::Event;
use eventdag::RawJson;
use serde::Serialize;

/// Prints events as JSON lines, or as a table with `pretty`.
pub(crate) fn events(
    out: &mut impl Write,
    events: &[Event<RawJson>],
    pretty: bool,
) -> anyhow::Result<()> {
    if !pretty {
        for event in events {
            json_line(out, event)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<36}  {:>5} {:>4} {:>6}  {:<14}  {:<22}  payload",
        "id", "depth", "lane", "seq", "kind", "flags"
    )?;
    for event in events {
        let position = event.position();
        let flags: Vec<&str> = event
            .header
            .flags
            .iter_names()
            .map(|(name, _)| name)
            .collect();
        // A redacted event shows its mark, never a payload.
        let mut payload = match &event.redaction {
            Some(mark) => format!("[redacted: {}]", mark.reason),
            None => event.payload.to_string(),
        };
        if payload.len() > 60 {
            let cut = (0..=57)
                .rev()
                .find(|at| payload.is_char_boundary(*at))
                .unwrap_or(0);
            payload.truncate(cut);
            payload.push_str("...");
        }
        writeln!(
            out,
            "{:<36}  {:>5} {:>4} {:>6}  {:<14}  {:<22}  {}",
            event.id(),
            position.depth,
            position.lane,
            position.sequence,
            event.header.event_kind.to_string(),
            flags.join(","),
            payload
        )?;
    }
    Ok(())
}

/// Prints one value as a line of JSON.
pub(crate) fn json_line<W: Write + ?Sized>(
    out: &mut W,
    value: &impl Serialize,
) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}
