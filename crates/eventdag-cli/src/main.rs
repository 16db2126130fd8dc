//! `eventdag`: the command-line program of EventDag. With no store named
//! it works on the embedded LMDB store in `./eventdag-data` (or
//! `$EVENTDAG_DATA`).

mod args;
mod commands;
mod embedded;
mod output;
mod store_spec;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use eventdag::MemoryDag;
use eventdag_postgres::PgDag;
use eventdag_tiered::TieredDag;
use serde_json::Value;

use args::{Cli, Command};
use store_spec::StoreSpec;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let spec = StoreSpec::from_args(&cli.store)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match spec {
        StoreSpec::Memory => {
            let store = Arc::new(MemoryDag::<Value>::new());
            commands::run(&store, cli.command, cli.pretty, &mut out).await?;
        }
        StoreSpec::Lmdb(path) => {
            let store = Arc::new(embedded::open(&path, embedded::Access::of(&cli.command))?);
            if let Command::Verify(args) = &cli.command {
                if args.id.is_none() && args.chain.is_none() {
                    let report = store.check_consistency().await.into_result()?;
                    output::json_line(&mut out, &report)?;
                    anyhow::ensure!(
                        report.is_consistent(),
                        "the indexes of {} disagree with the events: {} problem(s)",
                        path.display(),
                        report.problem_count
                    );
                }
            }
            commands::run(&store, cli.command, cli.pretty, &mut out).await?;
        }
        StoreSpec::Postgres(url) => {
            let store =
                Arc::new(PgDag::<Value>::connect(&url).await.with_context(|| {
                    format!("cannot connect to PostgreSQL at {}", redact(&url))
                })?);
            commands::run(&store, cli.command, cli.pretty, &mut out).await?;
        }
        StoreSpec::Tiered(cache, url) => {
            let store = Arc::new(TieredDag::<Value>::open(&cache, &url).await.with_context(
                || {
                    format!(
                        "cannot open the tiered store (cache {}, PostgreSQL {})",
                        cache.display(),
                        redact(&url)
                    )
                },
            )?);
            commands::run(&store, cli.command, cli.pretty, &mut out).await?;
        }
    }
    out.flush()?;
    Ok(())
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
