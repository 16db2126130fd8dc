//! `eventdag`: the command-line program of EventDag. With no store named
//! it works on the embedded LMDB store in `./eventdag-data` (or
//! `$EVENTDAG_DATA`).

mod args;
mod commands;
mod embedded;
mod output;
mod remote;
mod store_spec;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use eventdag::MemoryDag;
use eventdag::RawJson;
use eventdag_postgres::PgDag;
use eventdag_tiered::TieredDag;

use args::{Cli, Command};
use store_spec::StoreSpec;

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // Whether the store was named on the command line or by a variable:
    // only then does it win over a `serve` settings file's `store`.
    let store_named = ["store", "data"].iter().any(|arg| {
        matches
            .value_source(arg)
            .is_some_and(|source| source != ValueSource::DefaultValue)
    });
    let cli = match with_serve_settings(cli, store_named) {
        Ok(Some(cli)) => cli,
        Ok(None) => return ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// For `serve`: loads its settings (file, variables, flags) into the
/// command, takes the store from them unless one was named, and prints
/// them for `--print-config` (then `None`: nothing more to do).
fn with_serve_settings(mut cli: Cli, store_named: bool) -> anyhow::Result<Option<Cli>> {
    let Command::Serve(args) = &mut cli.command else {
        return Ok(Some(cli));
    };
    let mut settings = commands::serve_config::load(args)?;
    // `--admin-key` / `EVENTDAG_ADMIN_KEY` is the server's `admin_key`
    // (the variable also reaches it through the settings' own layering).
    if let Some(key) = &cli.store.admin_key {
        settings.server.admin_key =
            Some(eventdag_server::AdminKey::parse(key).context("--admin-key")?);
    }
    if store_named {
        settings.store = None;
    } else if let Some(store) = &settings.store {
        cli.store.store = Some(store.clone());
    }
    if args.print_config {
        let mut shown = settings.clone();
        shown.store = Some(
            cli.store
                .store
                .clone()
                .unwrap_or_else(|| format!("lmdb:{}", cli.store.data.display())),
        );
        print!("{}", commands::serve_config::render(&shown)?);
        return Ok(None);
    }
    args.settings = Some(settings);
    Ok(Some(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // `bench --peers` creates and removes its own stores: opening the
    // named one (by default creating ./eventdag-data) would be a side
    // effect nobody asked for.
    if let Command::Bench(args) = &cli.command {
        if args.peers {
            commands::run_peers(args, &mut out).await?;
            out.flush()?;
            return Ok(());
        }
    }
    let spec = StoreSpec::from_args(&cli.store)?;
    match spec {
        StoreSpec::Memory => {
            let store = Arc::new(MemoryDag::<RawJson>::new());
            commands::run(&store, cli.command, cli.pretty, &mut out).await?;
        }
        StoreSpec::Lmdb(path) => {
            // A refused import must not leave a new, empty store behind.
            let created = matches!(cli.command, Command::Import(_)) && embedded::is_new(&path);
            let existed = path.exists();
            let store = Arc::new(embedded::open(&path, embedded::Access::of(&cli.command))?);
            if let Command::Compact { to } = &cli.command {
                store.compact_into(to).with_context(|| {
                    format!("cannot compact {} into {}", path.display(), to.display())
                })?;
                output::json_line(&mut out, &serde_json::json!({ "compacted_into": to }))?;
                out.flush()?;
                return Ok(());
            }
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
            let result = commands::run(&store, cli.command, cli.pretty, &mut out).await;
            if result.is_err() && created {
                drop(store);
                embedded::remove_created(&path, existed)?;
            }
            result?;
        }
        StoreSpec::Postgres(url) => {
            let store =
                Arc::new(PgDag::<RawJson>::connect(&url).await.with_context(|| {
                    format!("cannot connect to PostgreSQL at {}", redact(&url))
                })?);
            commands::run(&store, cli.command, cli.pretty, &mut out).await?;
        }
        StoreSpec::Tiered(cache, url) => {
            let store = Arc::new(
                TieredDag::<RawJson>::open(&cache, &url)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot open the tiered store (cache {}, PostgreSQL {})",
                            cache.display(),
                            redact(&url)
                        )
                    })?,
            );
            commands::run(&store, cli.command, cli.pretty, &mut out).await?;
        }
        StoreSpec::Remote(url) => {
            let store = Arc::new(remote::connect(
                &url,
                cli.store.api_key.as_deref(),
                cli.store.admin_key.as_deref(),
                &cli.command,
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
