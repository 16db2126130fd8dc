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
    /// The store: `lmdb:DIR`, `postgres://…`, `tiered:DIR,postgres://…`,
    /// `http://host:port` (a running `eventdag serve`) or `memory:` (not
    /// persistent; for `bench` and trials).
    #[arg(long, global = true, env = "EVENTDAG_STORE")]
    pub(crate) store: Option<String>,
    /// The API key for `--store http://…` (the server's tenant for it).
    #[arg(long, global = true, env = "EVENTDAG_API_KEY", hide_env_values = true)]
    pub(crate) api_key: Option<String>,
    /// The server's administrator key: for `tenant delete` over
    /// `--store http://…`, and for `serve` its `admin_key` setting
    /// (prefer the variable: a flag shows in the process list).
    #[arg(
        long,
        global = true,
        env = "EVENTDAG_ADMIN_KEY",
        hide_env_values = true
    )]
    pub(crate) admin_key: Option<String>,
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
    Serve(Box<ServeArgs>),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The work queue: claim events with a lease, finish them, and handle
    /// dead letters (docs/queues.md).
    #[command(subcommand)]
    Work(WorkCommand),
    /// Remove an event's payload for good; the event, its place in the
    /// graph and its hash stay, and it keeps verifying. Prints the event
    /// as now stored.
    Redact {
        /// The event.
        id: Uuid,
        /// Why (kept in the mark): 1 to 1000 bytes, no control characters
        /// (over HTTP at most 250 characters).
        #[arg(long)]
        reason: String,
        /// The event's tenant (default: the default tenant).
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Retention: per-tenant policies that remove whole old correlation
    /// chains, and runs of them.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Embedded store only: write a compacted copy (only the pages in
    /// use: no byte of a redacted payload or a removed chain) into a new
    /// or empty directory. Works beside a running server; to purge the
    /// live store, stop it and replace its directory with the copy.
    Compact {
        /// The directory of the copy.
        #[arg(long)]
        to: PathBuf,
    },
}

/// `retention` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// Set (replace) a tenant's policy. Rules are tried in order; the
    /// first whose kind matches a chain's root decides; a chain no rule
    /// matches is kept. `--max-age 30d [--kind K]` is one rule (tried
    /// first); `--rule kind=0x6001,max-age=7d` (repeatable, `kind=`
    /// optional) adds more.
    Set {
        /// The tenant (default: the default tenant).
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
        /// Remove chains whose newest event is older than this (`30d`,
        /// `12h`, `90min`, `1y`).
        #[arg(long)]
        max_age: Option<humantime_serde::re::humantime::Duration>,
        /// With --max-age: only chains whose root has this kind (decimal
        /// or 0x hex).
        #[arg(long, value_parser = parse_kind, requires = "max_age")]
        kind: Option<u16>,
        /// A rule `[kind=K,]max-age=D` (repeatable).
        #[arg(long = "rule", value_parser = parse_rule)]
        rules: Vec<eventdag::RetentionRule>,
    },
    /// Print a tenant's policy (or every tenant's with --all).
    Show {
        /// The tenant (default: the default tenant).
        #[arg(long, default_value_t = Uuid::nil(), conflicts_with = "all")]
        tenant: Uuid,
        /// Every tenant's policy, one JSON line each.
        #[arg(long)]
        all: bool,
    },
    /// Remove a tenant's policy: everything is kept from now on.
    Clear {
        /// The tenant (default: the default tenant).
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Run a tenant's policy now (or every tenant's with --all); prints one
    /// JSON line per tenant: `{"tenant_id", "dry_run", "plan", "report",
    /// "archive"}`.
    Run {
        /// The tenant (default: the default tenant).
        #[arg(long, default_value_t = Uuid::nil(), conflicts_with = "all")]
        tenant: Uuid,
        /// Every tenant that has a policy.
        #[arg(long)]
        all: bool,
        /// Only print what would be removed (and the old chains kept, with
        /// the reason).
        #[arg(long)]
        dry_run: bool,
        /// Append every removed event to this JSON-lines file before it is
        /// removed (the format `export` writes).
        #[arg(long, conflicts_with = "dry_run")]
        archive: Option<PathBuf>,
    },
}

/// Parses `[kind=K,]max-age=D` (either order).
pub(crate) fn parse_rule(text: &str) -> Result<eventdag::RetentionRule, String> {
    let mut kind = None;
    let mut max_age = None;
    for part in text.split(',') {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| format!("rule {text:?}: expected kind=K,max-age=D"))?;
        match name.trim() {
            "kind" => kind = Some(eventdag::EventKind(parse_kind(value.trim())?)),
            "max-age" | "max_age" => max_age = Some(parse_age(value.trim())?),
            other => {
                return Err(format!(
                    "rule {text:?}: unknown field {other:?}; accepted: kind, max-age"
                ))
            }
        }
    }
    let max_age_seconds =
        max_age.ok_or_else(|| format!("rule {text:?}: max-age is required (e.g. max-age=30d)"))?;
    Ok(eventdag::RetentionRule {
        kind,
        max_age_seconds,
    })
}

/// A humantime duration (`30d`) in whole seconds, at least 1.
pub(crate) fn parse_age(text: &str) -> Result<u64, String> {
    let duration: std::time::Duration = text
        .parse::<humantime_serde::re::humantime::Duration>()
        .map_err(|error| format!("age {text:?}: {error} (e.g. 30d, 12h, 90min)"))?
        .into();
    match duration.as_secs() {
        0 => Err(format!(
            "age {text:?} is under a second: accepted at least 1s"
        )),
        seconds => Ok(seconds),
    }
}

/// `work` subcommands. Each names the tenant (default: the default
/// tenant); another tenant's event is not found.
#[derive(Debug, Subcommand)]
pub(crate) enum WorkCommand {
    /// Lease unacknowledged REQUIRES_ACK events, oldest first; prints one
    /// JSON line per event: `{"event", "attempt", "lease": {"token", "consumer", "deadline"}}`.
    Claim {
        /// Who claims (recorded on the lease).
        #[arg(long)]
        consumer: String,
        /// At most this many (at most 1,000).
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Lease length in ms.
        #[arg(long, default_value_t = 30_000)]
        lease_ms: u64,
        /// Only events of this kind.
        #[arg(long)]
        kind: Option<u16>,
        /// Only events of this correlation chain.
        #[arg(long)]
        chain: Option<Uuid>,
        /// Deliveries before an event is dead-lettered.
        #[arg(long, default_value_t = eventdag::DEFAULT_MAX_ATTEMPTS)]
        max_attempts: u32,
        /// Send ErrorPropagation upstream from each event dead-lettered.
        #[arg(long)]
        signal_dead_letters: bool,
        /// The tenant.
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Extend a lease (heartbeat).
    Extend {
        /// The leased event.
        id: Uuid,
        /// The claim's token.
        #[arg(long)]
        token: Uuid,
        /// The new lease from now, in ms.
        #[arg(long, default_value_t = 30_000)]
        lease_ms: u64,
        /// The tenant.
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Release a lease: claimable again now, or after a delay.
    Release {
        /// The leased event.
        id: Uuid,
        /// The claim's token.
        #[arg(long)]
        token: Uuid,
        /// Claimable again after this many ms.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// The tenant.
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Acknowledge through the queue: with --token, refused while another
    /// claim's lease is valid; without, forced.
    Ack {
        /// The event.
        id: Uuid,
        /// The claim's token.
        #[arg(long)]
        token: Option<Uuid>,
        /// Also send an `Ack` signal to every ancestor.
        #[arg(long)]
        upstream: bool,
        /// The tenant.
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// List dead letters by event id, one JSON line each.
    Dead {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Resume after this event id.
        #[arg(long)]
        after: Option<Uuid>,
        /// The tenant.
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Put a dead letter back in the queue, attempts reset.
    Requeue {
        /// The dead letter.
        id: Uuid,
        /// The tenant.
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
    /// Print an event's queue state (lease, attempts, dead letter).
    Show {
        /// The event.
        id: Uuid,
        /// The tenant.
        #[arg(long, default_value_t = Uuid::nil())]
        tenant: Uuid,
    },
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
    /// Erase a tenant for good: every event, signal, queue entry, chain
    /// state, retention policy, API key and its registry entry. Over
    /// `--store http://…` this needs the server's administrator key
    /// (`--admin-key` / `EVENTDAG_ADMIN_KEY`).
    Delete {
        /// The tenant's name (or id).
        name: String,
        /// Confirm: nothing is removed without it.
        #[arg(long)]
        yes: bool,
    },
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
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// Scale of the workload: 1 is the documented fixed workload; a
    /// fraction such as 0.01 runs a smaller one (a smoke run).
    #[arg(long, default_value = "1", value_parser = Scale::parse)]
    pub(crate) scale: Scale,
    /// Run one fixed workload against EventDag (embedded, over HTTP, on
    /// PostgreSQL) and the systems users would pick instead: NATS
    /// JetStream, PostgreSQL and SQLite written directly. The bench starts
    /// and removes its own stores; `--store` and `--data` are not used.
    #[arg(long)]
    pub(crate) peers: bool,
    /// With --peers: the PostgreSQL server (a user with CREATEDB) on which
    /// a scratch database `eventdag_peers_<pid>` is created and dropped.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub(crate) postgres_url: String,
    /// With --peers: the machine's NATS server with JetStream enabled.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub(crate) nats_url: String,
    /// With --peers: the `nats-server` binary started privately with
    /// `sync_interval: always` (needs nats-server 2.10 or later).
    #[arg(long, default_value = "/usr/sbin/nats-server")]
    pub(crate) nats_server: PathBuf,
}

/// How much of a fixed workload to run: a positive, finite factor on
/// every operation count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale(f64);

impl Scale {
    /// Parses a positive decimal such as `1`, `4` or `0.01`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() && value > 0.0 => Ok(Self(value)),
            _ => Err(format!(
                "scale {text:?} is not a positive number (e.g. 1, 4 or 0.01)"
            )),
        }
    }

    /// The factor itself.
    pub(crate) fn factor(self) -> f64 {
        self.0
    }

    /// `base` operations at this scale, rounded, and at least one so that
    /// every row of a table is measured.
    pub(crate) fn ops(self, base: usize) -> usize {
        // Operation counts stay far below 2^52, where f64 is exact, and the
        // result is positive and finite by construction of `Scale`.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let scaled = (base as f64 * self.0).round() as usize;
        scaled.max(1)
    }
}

/// Parses a kind: decimal or `0x` hex, 0-65535.
pub(crate) fn parse_kind(text: &str) -> Result<u16, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => text.parse::<u16>(),
    };
    parsed.map_err(|_| format!("kind {text:?} is not a number from 0 to 65535 (decimal or 0x hex)"))
}

/// `serve`: every setting as a flag (above `EVENTDAG_*` variables, which
/// are above the TOML file; see `commands/serve_config.rs`).
#[derive(Debug, Default, Args)]
pub(crate) struct ServeArgs {
    /// A TOML file of settings (default: ./eventdag.toml if present).
    #[arg(long, env = "EVENTDAG_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Print the effective settings as TOML and exit.
    #[arg(long)]
    pub(crate) print_config: bool,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub(crate) log_json: bool,
    /// Listen address (default 127.0.0.1:7400; `EVENTDAG_ADDR`); anything
    /// but loopback needs an API key first.
    #[arg(long)]
    pub(crate) addr: Option<std::net::SocketAddr>,
    /// Largest request body in bytes (default 4 MiB).
    #[arg(long)]
    pub(crate) max_body_bytes: Option<usize>,
    /// Bytes of an oversized body read before answering 413 (default 64 MiB).
    #[arg(long)]
    pub(crate) max_drain_bytes: Option<usize>,
    /// Cap on every `limit` (default and maximum 10000).
    #[arg(long)]
    pub(crate) max_limit: Option<usize>,
    /// `limit` of a request that gives none (default 100).
    #[arg(long)]
    pub(crate) default_limit: Option<usize>,
    /// Time a request may take before 503 timeout (default 30s).
    #[arg(long)]
    pub(crate) request_timeout: Option<humantime_serde::re::humantime::Duration>,
    /// Sustained requests/s per API key; 0 disables (default 100000).
    #[arg(long)]
    pub(crate) rate_limit_per_second: Option<u32>,
    /// Requests at once above the sustained rate (default 200000).
    #[arg(long)]
    pub(crate) rate_limit_burst: Option<u32>,
    /// How long a found API key is remembered (default 1s).
    #[arg(long)]
    pub(crate) key_cache_ttl: Option<humantime_serde::re::humantime::Duration>,
    /// How often streams poll for other processes' writes (default 250ms).
    #[arg(long)]
    pub(crate) stream_poll_interval: Option<humantime_serde::re::humantime::Duration>,
    /// Events or signals a stream reads per poll (default 256).
    #[arg(long)]
    pub(crate) stream_batch: Option<usize>,
    /// Furthest a Backpressure signal may hold a chain (default 24h).
    #[arg(long)]
    pub(crate) max_backpressure: Option<humantime_serde::re::humantime::Duration>,
    /// A Host name a keyless server answers besides loopback (repeatable).
    #[arg(long)]
    pub(crate) allowed_host: Vec<String>,
    /// An origin allowed to call the API from a browser (repeatable).
    #[arg(long)]
    pub(crate) cors_origin: Vec<String>,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long)]
    pub(crate) tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long)]
    pub(crate) tls_key: Option<PathBuf>,
    /// How often every tenant's retention policy runs (default 1h; 0 off).
    #[arg(long)]
    pub(crate) retention_interval: Option<humantime_serde::re::humantime::Duration>,
    /// Write the events retention removes here first (JSON lines, one
    /// file per tenant per run).
    #[arg(long)]
    pub(crate) retention_archive_dir: Option<PathBuf>,
    /// The settings loaded from all three sources (filled in by `main`
    /// before the store is opened, since they may name the store).
    #[arg(skip)]
    pub(crate) settings: Option<crate::commands::ServeSettings>,
}

#[cfg(test)]
mod tests {
    use super::Scale;

    #[test]
    fn rules_parse_in_either_order_and_say_what_is_wrong() {
        let rule = super::parse_rule("kind=0x6001,max-age=7d").unwrap();
        assert_eq!(rule.kind, Some(eventdag::EventKind(0x6001)));
        assert_eq!(rule.max_age_seconds, 7 * 86_400);
        let any = super::parse_rule("max-age=90min").unwrap();
        assert_eq!((any.kind, any.max_age_seconds), (None, 5400));
        for (bad, says) in [
            ("kind=1", "max-age is required"),
            ("max-age=0s", "under a second"),
            ("age=1d", "unknown field"),
            ("max-age", "expected kind=K"),
            ("max-age=soon", "age \"soon\""),
        ] {
            let error = super::parse_rule(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn scale_counts_round_and_never_reach_zero() {
        let one = Scale::parse("1").unwrap();
        assert_eq!(one.ops(500), 500);
        assert_eq!(Scale::parse("4").unwrap().ops(500), 2000);
        assert_eq!(Scale::parse("0.01").unwrap().ops(500), 5);
        assert_eq!(Scale::parse("0.0001").unwrap().ops(500), 1);
        for refused in ["0", "-1", "NaN", "inf", "x"] {
            assert!(Scale::parse(refused).is_err(), "{refused}");
        }
    }
}
