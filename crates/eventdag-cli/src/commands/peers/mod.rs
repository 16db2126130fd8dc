//! `eventdag bench --peers` (issue 19): one fixed workload against
//! EventDag (embedded, over HTTP, on PostgreSQL) and the systems users
//! would pick instead — NATS JetStream, PostgreSQL and SQLite written
//! directly — printed as one table with ratios to embedded EventDag.
//!
//! Every system starts from nothing the bench did not create: temporary
//! directories, a private `eventdag serve` and `nats-server`, a scratch
//! PostgreSQL database and a fresh JetStream stream, all removed at the
//! end. A system that cannot be reached is reported as such and the run
//! goes on.

mod child;
mod eventdag;
mod http;
mod measure;
mod nats;
mod nats_server;
mod peer;
mod postgres;
mod rows;
mod scratch;
mod sqlite;
mod system;
mod table;
mod workload;

use std::io::Write;

use rows::RowResult;
use scratch::ScratchDatabase;
use system::System;
use workload::Workload;

use crate::args::BenchArgs;

/// How one system went.
enum SystemResult {
    /// Every row, measured or failed.
    Measured(Vec<RowResult>),
    /// Why the system could not be set up (server down, binary missing…).
    Unreachable(String),
}

/// One system's line group in the table.
struct SystemReport {
    system: System,
    result: SystemResult,
}

/// Runs the workload on every system, one after another (they share the
/// machine's cores and disk), and prints the table to `out`.
pub(crate) async fn run_peers(args: &BenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let workload = Workload::new(args.scale);
    let mut reports = Vec::with_capacity(System::ALL.len());
    let mut report = |system: System, result: SystemResult| {
        if let SystemResult::Unreachable(reason) = &result {
            eprintln!("{}: unreachable: {reason}", system.label());
        }
        reports.push(SystemReport { system, result });
    };

    eprintln!("measuring {} …", System::Embedded.label());
    report(System::Embedded, eventdag::embedded(&workload).await);
    eprintln!("measuring {} …", System::Http.label());
    report(System::Http, http::system(&workload).await);

    // Both PostgreSQL systems write into one scratch database, dropped
    // after them.
    match ScratchDatabase::create(&args.postgres_url).await {
        Ok(database) => {
            let url = database.url();
            eprintln!("measuring {} …", System::EventDagPostgres.label());
            report(
                System::EventDagPostgres,
                eventdag::postgres(&url, &workload).await,
            );
            eprintln!("measuring {} …", System::Postgres.label());
            report(System::Postgres, postgres::system(&url, &workload).await);
            if let Err(error) = database.drop_database().await {
                eprintln!("warning: {error:#}");
            }
        }
        Err(error) => {
            let reason = format!(
                "PostgreSQL at {}: {error:#}",
                crate::redact(&args.postgres_url)
            );
            report(
                System::EventDagPostgres,
                SystemResult::Unreachable(reason.clone()),
            );
            report(System::Postgres, SystemResult::Unreachable(reason));
        }
    }

    eprintln!("measuring {} …", System::JetStreamMachine.label());
    report(
        System::JetStreamMachine,
        nats::system(&args.nats_url, "MACHINE", &workload).await,
    );
    eprintln!("measuring {} …", System::JetStreamPrivate.label());
    report(
        System::JetStreamPrivate,
        nats_server::system(&args.nats_server, &workload).await,
    );
    eprintln!("measuring {} …", System::Sqlite.label());
    report(System::Sqlite, sqlite::system(&workload).await);

    // The report order is the table order.
    reports.sort_by_key(|report| {
        System::ALL
            .iter()
            .position(|system| *system == report.system)
    });
    table::print(out, &workload, &reports)?;
    Ok(())
}
