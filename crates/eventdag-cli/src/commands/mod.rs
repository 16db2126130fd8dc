//! The subcommands that work on any store.

mod append;
mod bench;
mod export;
mod forget;
mod import;
mod import_check;
mod peers;
mod query;
mod serve;
pub(crate) mod serve_config;
mod tenants;
mod verify;
mod work;

use std::io::Write;

use crate::args::Command;

pub(crate) use bench::run_bench;
pub(crate) use peers::run_peers;
pub(crate) use serve_config::ServeSettings;

/// What every command needs of a store: what the server needs, and, for
/// the few commands that take another way over HTTP (a retention run, a
/// tenant erasure by name), the client behind `--store http://…`.
pub(crate) trait CliStore: eventdag_server::ServerStore {
    /// The client, when the store is a server.
    fn remote(&self) -> Option<&eventdag_client::RemoteDag<eventdag::RawJson>> {
        None
    }
}

impl CliStore for eventdag::MemoryDag<eventdag::RawJson> {}
impl CliStore for eventdag_lmdb::LmdbDag<eventdag::RawJson> {}
impl CliStore for eventdag_postgres::PgDag<eventdag::RawJson> {}
impl CliStore for eventdag_tiered::TieredDag<eventdag::RawJson> {}

/// Runs a store command, writing results to `out`.
pub(crate) async fn run<S: CliStore>(
    shared: &std::sync::Arc<S>,
    command: Command,
    pretty: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = &**shared;
    match command {
        Command::Append(args) => append::run(store, args, pretty, out).await,
        Command::Get { id } => query::get(store, id, pretty, out).await,
        Command::Ancestors(walk) => query::ancestors(store, walk, pretty, out).await,
        Command::Descendants(walk) => query::descendants(store, walk, pretty, out).await,
        Command::Chain {
            correlation_id,
            tenant,
        } => query::chain(store, tenant, correlation_id, pretty, out).await,
        Command::Ack { id, upstream } => query::ack(store, id, upstream, out).await,
        Command::Unacked { limit, tenant } => {
            query::unacked(store, tenant, limit, pretty, out).await
        }
        Command::Signal { id, signal } => query::signal(store, id, signal.as_deref(), out).await,
        Command::Verify(args) => verify::run(store, args, out).await,
        Command::Export(args) => export::run(store, args, out).await,
        Command::Import(args) => import::run(store, args, out).await,
        // `main` runs `--peers` before opening any store; this arm keeps
        // the flag meaning the same if a caller comes here with it.
        Command::Bench(args) if args.peers => run_peers(&args, out).await,
        Command::Bench(args) => run_bench(store, args, out).await,
        Command::Serve(args) => {
            let settings = match args.settings {
                Some(settings) => settings,
                None => serve_config::load(&args)?,
            };
            serve::run(
                std::sync::Arc::clone(shared),
                settings.server,
                args.log_json,
            )
            .await
        }
        Command::Tenant(command) => tenants::tenant(store, command, out).await,
        Command::Key(command) => tenants::key(store, command, out).await,
        Command::Work(command) => work::run(store, command, out).await,
        Command::Redact { id, reason, tenant } => {
            forget::redact(store, tenant, id, reason, pretty, out).await
        }
        Command::Retention(command) => forget::retention(store, command, out).await,
        // `main` compacts the embedded store before coming here.
        Command::Compact { .. } => anyhow::bail!(
            "compact works on the embedded store only (it copies LMDB's pages in use); on PostgreSQL, VACUUM FULL returns the space of removed rows (docs/storage-postgres.md)"
        ),
    }
}
