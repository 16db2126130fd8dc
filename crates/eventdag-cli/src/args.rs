//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use uuid::Uuid;

/// EventDag: a persistent, multi-tenant store for a DAG of events.
#[derive(Debug, Parser)]
#[command(name = "eventdag", version, about)]
pub(crate) struct Cli {
    /// Where the events live.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// Print readable tables instead of JSON lines.
    #[arg(long, global = true)]
    pub(crate) pretty: bool,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How to find the store.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// Embedded store directory (used when --store is not given).
    #[arg(
        long,
        global = true,
        env = "EVENTDAG_DATA",
        default_value = "./eventdag-data"
    )]
    pub(crate) data: PathBuf,
    /// The store: `lmdb:DIR`, `postgres://…`, `tiered:DIR,postgres://…` or
    /// `memory:` (not persistent; for `bench` and trials).
    #[arg(long, global = true, env = "EVENTDAG_STORE")]
    pub(crate) store: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Append one event at the next free position of its lane.
    Append(AppendArgs),
    /// Print one event.
    Get {
        /// The event id.
        id: Uuid,
    },
    /// Print an event and its ancestors, most recent first.
    Ancestors(WalkArgs),
    /// Print an event and its descendants, oldest first.
    Descendants(WalkArgs),
    /// Print a correlation chain in topological order.
    Chain {
        /// The correlation id.
        correlation_id: Uuid,
        /// The tenant (default: the default tenant).
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Acknowledge an event.
    Ack {
        /// The event id.
        id: Uuid,
        /// Also send an `Ack` signal to every ancestor.
        #[arg(long)]
        upstream: bool,
    },
    /// Print events waiting for acknowledgment, oldest first.
    Unacked {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// The tenant (default: the default tenant).
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Send a signal upstream from an event, or list its signals.
    Signal {
        /// The event the signal is sent from.
        id: Uuid,
        /// The signal as JSON, e.g. '{"type":"cancel","correlation_id":"…","reason":"…"}'.
        /// Without it, the event's signals are listed.
        signal: Option<String>,
    },
    /// Verify stored hashes (and, on the embedded store, every page of the
    /// data file and every index).
    Verify(VerifyArgs),
    /// Write a tenant's events in commit order.
    Export(ExportArgs),
    /// Read events (JSON lines, as `export` writes them) into the store.
    Import(ImportArgs),
    /// Run a fixed workload and print throughput and latency percentiles.
    Bench(BenchArgs),
    /// Serve the HTTP/JSON API, live streams, metrics and the explorer page.
    Serve {
        /// Listen address; anything but loopback needs an API key first.
        #[arg(long, env = "EVENTDAG_ADDR", default_value = eventdag_server::DEFAULT_ADDR)]
        addr: std::net::SocketAddr,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

/// `tenant` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Create a tenant and its first API key (printed this once).
    Create {
        /// A unique name.
        name: String,
    },
    /// List tenants and their keys (prefixes only).
    List,
}

/// `key` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create another key for a tenant (printed this once).
    Create {
        /// The tenant's id.
        tenant: Uuid,
    },
    /// Revoke a key by its prefix (or the whole key).
    Revoke {
        /// The key's prefix.
        prefix: String,
    },
}

/// `append` options.
#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    /// The payload as JSON.
    #[arg(long)]
    pub(crate) payload: String,
    /// A parent (repeat for a merge).
    #[arg(long = "parent")]
    pub(crate) parents: Vec<Uuid>,
    /// The lane (default: the first parent's, else 0).
    #[arg(long)]
    pub(crate) lane: Option<u32>,
    /// The kind, 0-65535 (decimal or 0x hex).
    #[arg(long, value_parser = parse_kind, default_value = "0")]
    pub(crate) kind: u16,
    /// Flags, comma separated: REQUIRES_ACK, TRANSACTIONAL, COMPRESSED, REPLAY, CRITICAL.
    #[arg(long, value_delimiter = ',')]
    pub(crate) flags: Vec<String>,
    /// The correlation chain (default: inherited / own id).
    #[arg(long)]
    pub(crate) correlation: Option<Uuid>,
    /// A client-chosen v7 id (makes retries idempotent).
    #[arg(long)]
    pub(crate) id: Option<Uuid>,
    /// The tenant (default: the default tenant).
    #[arg(long, default_value_t = Uuid::nil())]
    pub(crate) tenant: Uuid,
}

/// Walk options.
#[derive(Debug, Args)]
pub(crate) struct WalkArgs {
    /// Where to start.
    pub(crate) id: Uuid,
    /// At most this many events (the start included).
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: usize,
}

/// `verify` options.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// One event to verify.
    pub(crate) id: Option<Uuid>,
    /// A whole correlation chain to verify.
    #[arg(long, conflicts_with = "id")]
    pub(crate) chain: Option<Uuid>,
    /// The tenant of the chain, or whose events to verify.
    #[arg(long, default_value_t = Uuid::nil())]
    pub(crate) tenant: Uuid,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ExportFormat {
    /// One event as JSON per line.
    Jsonl,
    /// A Graphviz digraph.
    Dot,
}

/// `export` options.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub(crate) format: ExportFormat,
    /// The tenant to export.
    #[arg(long, default_value_t = Uuid::nil())]
    pub(crate) tenant: Uuid,
    /// Only this correlation chain.
    #[arg(long)]
    pub(crate) chain: Option<Uuid>,
    /// Write here instead of standard output.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

/// `import` options. Every line's `hash` is checked against its content
/// and its parents' hashes before anything is stored; a file with a line
/// that does not match is refused whole. Prints
/// `{"imported": N, "already_present": M, "refused": K}`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The JSON-lines file (`-` for standard input).
    pub(crate) file: PathBuf,
    /// Events per transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub(crate) batch: u64,
    /// DANGEROUS: skip the hash check and seal every event again with a
    /// fresh hash. Edited or forged lines then import as if they were
    /// original, and `verify` will pass on them. Only for data you changed
    /// on purpose, or lines written by hand without a hash.
    #[arg(long)]
    pub(crate) rehash: bool,
}

/// `bench` options.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Scale of the workload: 1 is the documented fixed workload.
    #[arg(long, default_value_t = 1)]
    pub(crate) scale: u32,
}

/// Parses a kind: decimal or `0x` hex, 0-65535.
pub(crate) fn parse_kind(text: &str) -> Result<u16, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => text.parse::<u16>(),
    };
    parsed.map_err(|_| format!("kind {text:?} is not a number from 0 to 65535 (decimal or 0x hex)"))
}
