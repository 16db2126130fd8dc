//! The printed table: one line per system and row, ratios against the
//! reference system's same row, then how each system did each row.

use std::io::Write;
use std::time::Duration;

use super::rows::{Outcome, Row, RowResult};
use super::system::System;
use super::workload::{Workload, APPENDERS, BATCH, CHAIN, PAYLOAD_BYTES, RECENT};
use super::{SystemReport, SystemResult};

/// `12345.6` as `12,346`.
fn thousands(value: f64) -> String {
    // Rounded to a whole, non-negative count first; anything else is shown
    // as it is.
    if !value.is_finite() || value < 0.0 {
        return format!("{value}");
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = value.round() as u64;
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A count of operations as `20,000`.
fn count(value: usize) -> String {
    // Counts stay far below 2^52, where f64 is exact.
    #[allow(clippy::cast_precision_loss)]
    let exact = value as f64;
    thousands(exact)
}

/// A latency in µs: one decimal below 100 µs, whole above.
fn micros(latency: Duration) -> String {
    let value = latency.as_secs_f64() * 1e6;
    if value < 100.0 {
        format!("{value:.1}")
    } else {
        thousands(value)
    }
}

/// A ratio with about three significant digits.
fn ratio(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.0}×")
    } else if value >= 1.0 {
        format!("{value:.2}×")
    } else {
        format!("{value:.3}×")
    }
}

/// Text for a table cell: no column separators, on one line.
fn cell(text: &str) -> String {
    text.replace('|', "/").replace(['\n', '\r'], " ")
}

/// The reference's ops/s on `row`, if it was measured.
fn reference_rate(reports: &[SystemReport], row: Row) -> Option<f64> {
    let reference = reports
        .iter()
        .find(|report| report.system == System::REFERENCE)?;
    let SystemResult::Measured(rows) = &reference.result else {
        return None;
    };
    rows.iter()
        .find_map(|result| match (&result.outcome, result.row == row) {
            (Outcome::Measured(sample), true) => Some(sample.ops_per_second()),
            _ => None,
        })
}

fn row_line(
    out: &mut impl Write,
    system: System,
    result: &RowResult,
    reference: Option<f64>,
    workload: &Workload,
) -> std::io::Result<()> {
    let label = system.label();
    let name = result.row.label();
    match &result.outcome {
        Outcome::Measured(sample) => {
            let rate = sample.ops_per_second();
            let versus = match reference {
                Some(_) if system == System::REFERENCE => "1 (reference)".to_owned(),
                Some(reference) if reference > 0.0 => ratio(rate / reference),
                _ => "—".to_owned(),
            };
            let mut notes = Vec::new();
            if sample.capped {
                notes.push(format!(
                    "stopped at the {:.0} s budget",
                    workload.budget.as_secs_f64()
                ));
            }
            if result.throttled > 0 {
                notes.push(format!("{} × HTTP 429 waited out", result.throttled));
            }
            writeln!(
                out,
                "| {label} | {name} | {} | {} | {} | {} | {} | {versus} | {} |",
                count(sample.ops()),
                thousands(rate),
                thousands(sample.events_per_second()),
                micros(sample.percentile(50.0)),
                micros(sample.percentile(99.0)),
                notes.join("; "),
            )
        }
        Outcome::Failed(error) => writeln!(
            out,
            "| {label} | {name} | — | — | — | — | — | — | failed: {} |",
            cell(error)
        ),
    }
}

/// Prints the whole table for `reports`.
pub(super) fn print(
    out: &mut impl Write,
    workload: &Workload,
    reports: &[SystemReport],
) -> std::io::Result<()> {
    writeln!(
        out,
        "EventDag beside the systems users would pick instead. Reference: {}; \
         \"vs ref\" = ops/s ÷ the reference's ops/s on the same row.",
        System::REFERENCE.label()
    )?;
    writeln!(
        out,
        "Workload: {PAYLOAD_BYTES}-byte JSON payload everywhere; {} sequential appends; \
         {APPENDERS} appenders × {} appends; {} commits of {} events; {} reads by id and {} \
         reads of the {RECENT} most recent, on a chain of {}; every read decodes its payloads \
         into serde_json::Value; a row stops starting operations after {:.0} s.",
        count(workload.sequential),
        count(workload.per_appender),
        count(workload.batches),
        count(BATCH),
        count(workload.reads),
        count(workload.recent),
        count(CHAIN),
        workload.budget.as_secs_f64(),
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| system | row | ops | ops/s | events/s | p50 µs | p99 µs | vs ref | note |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---|")?;
    for report in reports {
        match &report.result {
            SystemResult::Measured(rows) => {
                for result in rows {
                    let reference = reference_rate(reports, result.row);
                    row_line(out, report.system, result, reference, workload)?;
                }
            }
            SystemResult::Unreachable(reason) => writeln!(
                out,
                "| {} | every row | — | — | — | — | — | — | unreachable: {} |",
                report.system.label(),
                cell(reason)
            )?,
        }
    }
    writeln!(out)?;
    writeln!(out, "How each system does the rows:")?;
    writeln!(
        out,
        "- every system: \"16 appenders, 16 tenants\" gives each appender a tenant of its own where the system has tenants (EventDag through the library); the others run the 16-appender row again, as its baseline."
    )?;
    for report in reports {
        writeln!(out, "- {}: {}", report.system.label(), report.system.how())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_like_the_docs() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1234.5), "1,235");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(micros(Duration::from_nanos(12_340)), "12.3");
        assert_eq!(micros(Duration::from_micros(4_321)), "4,321");
        assert_eq!(ratio(0.01234), "0.012×");
        assert_eq!(ratio(2.5), "2.50×");
        assert_eq!(ratio(31.4), "31×");
        assert_eq!(cell("a|b\nc"), "a/b c");
    }
}
