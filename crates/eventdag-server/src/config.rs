//! Server settings with documented defaults that a user never needs to
//! change to get correct behaviour. Every setting can come from a TOML
//! file, an `EVENTDAG_*` variable or a flag (`eventdag serve`); durations
//! are written as `"30s"`, `"250ms"`, `"1h"`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use eventdag::TenantId;
use serde::{Deserialize, Serialize};

use crate::auth::AdminKey;

/// A sustained rate with a burst above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second, sustained; 0 disables the limit.
    pub per_second: u32,
    /// Requests allowed at once above the sustained rate.
    pub burst: u32,
}

/// The certificate and key a TLS listener presents (PEM files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM.
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Settings of the HTTP server. Every field has a default (see
/// [`ServerConfig::default`]); change only what you need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where [`crate::serve`] listens. Default `127.0.0.1:7400`.
    pub addr: SocketAddr,
    /// Largest accepted request body in bytes; larger ones get 413.
    /// Default 4 MiB (a single event's payload is further limited by the
    /// store, 1 MiB by default).
    pub max_body_bytes: usize,
    /// Cap on every `limit` query parameter; larger values are lowered to
    /// it silently. Default and maximum [`eventdag::MAX_LIMIT`] (10,000):
    /// the store caps there anyway.
    pub max_limit: usize,
    /// `limit` used when a request gives none. Default 100.
    pub default_limit: usize,
    /// How many bytes of a body over `max_body_bytes` are read and
    /// dropped before the 413 answer, so that clients which send the whole
    /// body before reading (Python's urllib and requests) see the 413
    /// instead of a reset connection. Beyond it the connection is closed
    /// at once. Default 64 MiB.
    pub max_drain_bytes: usize,
    /// A request that has not produced its response after this long gets
    /// 503 `timeout`. Streams are bounded only until their headers are
    /// sent. Default 30 s.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Sustained requests per second allowed per API key (one bucket for
    /// all callers when no keys exist); 0 disables the limit. Default
    /// 100,000: above what this server answers on two cores (about 60 k
    /// simple requests/s), so a well-behaved client is never throttled;
    /// it stops a runaway client of a shared server.
    pub rate_limit_per_second: u32,
    /// Requests a key may send at once above the sustained rate. Default
    /// 200,000.
    pub rate_limit_burst: u32,
    /// Rate limits for particular tenants, in place of the per-key
    /// default for every key of that tenant. Default none.
    pub tenant_rate_limits: BTreeMap<TenantId, RateLimit>,
    /// How long a found API key is remembered before the store is asked
    /// again: the longest time a revoked key keeps working on a running
    /// server. Unknown keys are never cached, so a new key works at once.
    /// Default 1 s.
    #[serde(with = "humantime_serde")]
    pub key_cache_ttl: Duration,
    /// How often a live stream polls the store for events written by
    /// other processes (this server's own writes wake streams at once).
    /// Default 250 ms.
    #[serde(with = "humantime_serde")]
    pub stream_poll_interval: Duration,
    /// Most events or signals a stream reads from the store per poll.
    /// Default 256.
    pub stream_batch: usize,
    /// The furthest a `Backpressure` signal may hold a chain: `until`
    /// beyond now + this is refused (400). Default 24 h.
    #[serde(with = "humantime_serde")]
    pub max_backpressure: Duration,
    /// Host names (with or without port) a server without API keys
    /// answers besides loopback ones (`localhost`, `127.0.0.0/8`, `::1`):
    /// a keyless server serves the default tenant to anyone who reaches
    /// it, so other `Host`s — DNS rebinding — get 403. Default none.
    pub allowed_hosts: Vec<String>,
    /// Origins (`https://app.example`) allowed to call the API from a
    /// browser: they get CORS headers, and only they (and this server's
    /// own pages) may send requests with an `Origin` header. Default none:
    /// CORS off, cross-site requests refused.
    pub cors_origins: Vec<String>,
    /// How many of the tenant's newest events `GET /v1/chains` reads to
    /// find the recent chains (the explorer's landing view). Default
    /// 10,000: about 20 ms on LMDB; chains whose events all lie further
    /// back are not listed.
    pub chains_scan_events: usize,
    /// How many chains `GET /v1/chains` answers when the request gives no
    /// `limit` (capped at `max_limit`). Default 20.
    pub chains_default_limit: usize,
    /// Serve HTTPS with this certificate and key. Default none (plain
    /// HTTP; with keys on a non-loopback address the server warns loudly
    /// at start, since keys would cross the network in clear).
    pub tls: Option<TlsConfig>,
    /// How often the server runs every tenant's retention policy
    /// (`Forgetting::retention_policies`, then plan and apply). 0 turns
    /// the background run off (`POST /v1/retention/run` still works).
    /// Default 1 h.
    #[serde(with = "humantime_serde")]
    pub retention_interval: Duration,
    /// A directory where every retention run (background or requested)
    /// writes the events it removes, as JSON lines, before removing them:
    /// one file per tenant per run, `<tenant>-<µs>.jsonl`. Default none:
    /// removed events are gone.
    pub retention_archive_dir: Option<PathBuf>,
    /// The administrator's credential for the `/v1/admin` routes (tenant
    /// erasure), sent as `Authorization: Bearer <key>`. Given as the key
    /// itself (at least 32 characters, e.g. `openssl rand -hex 32`) or as
    /// `sha256:<64 hex digits>` of it; only the hash is kept in memory
    /// and printed. Default none: the admin routes answer 403. No tenant
    /// key ever reaches them.
    pub admin_key: Option<AdminKey>,
}

/// The default listen address of SPEC §7.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7400";

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 7400)),
            max_body_bytes: 4 * 1024 * 1024,
            max_drain_bytes: 64 * 1024 * 1024,
            max_limit: eventdag::MAX_LIMIT,
            default_limit: 100,
            request_timeout: Duration::from_secs(30),
            rate_limit_per_second: 100_000,
            rate_limit_burst: 200_000,
            tenant_rate_limits: BTreeMap::new(),
            key_cache_ttl: Duration::from_secs(1),
            stream_poll_interval: Duration::from_millis(250),
            stream_batch: 256,
            max_backpressure: Duration::from_secs(24 * 3600),
            allowed_hosts: Vec::new(),
            cors_origins: Vec::new(),
            chains_scan_events: 10_000,
            chains_default_limit: 20,
            tls: None,
            retention_interval: Duration::from_secs(3600),
            retention_archive_dir: None,
            admin_key: None,
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {setting}: {message}")]
pub struct ConfigError {
    /// The setting.
    pub setting: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl ServerConfig {
    /// Checks that the settings can work together.
    ///
    /// # Errors
    /// The first setting that cannot.
    pub fn check(&self) -> Result<(), ConfigError> {
        let fail = |setting: &str, message: String| {
            Err(ConfigError {
                setting: setting.to_owned(),
                message,
            })
        };
        if self.max_body_bytes == 0 {
            return fail("max_body_bytes", "must be at least 1".into());
        }
        if self.default_limit == 0 || self.max_limit == 0 {
            return fail(
                "default_limit",
                "default_limit and max_limit must be at least 1".into(),
            );
        }
        if self.chains_scan_events == 0 || self.chains_default_limit == 0 {
            return fail(
                "chains_scan_events",
                "chains_scan_events and chains_default_limit must be at least 1".into(),
            );
        }
        if self.stream_batch == 0 {
            return fail("stream_batch", "must be at least 1".into());
        }
        if self.request_timeout.is_zero() || self.stream_poll_interval.is_zero() {
            return fail(
                "request_timeout",
                "request_timeout and stream_poll_interval must be longer than 0".into(),
            );
        }
        let limits = std::iter::once((
            "rate_limit_burst".to_owned(),
            self.rate_limit_per_second,
            self.rate_limit_burst,
        ))
        .chain(self.tenant_rate_limits.iter().map(|(tenant, limit)| {
            (
                format!("tenant_rate_limits.{tenant}.burst"),
                limit.per_second,
                limit.burst,
            )
        }));
        for (setting, per_second, burst) in limits {
            if per_second > 0 && burst == 0 {
                return fail(&setting, "must be at least 1 when the rate is not 0".into());
            }
        }
        if self.retention_interval > crate::retention::MAX_RETENTION_INTERVAL {
            return fail(
                "retention_interval",
                "accepted at most 366 days (0 turns the background run off)".into(),
            );
        }
        if let Some(dir) = &self.retention_archive_dir {
            if !dir.is_dir() {
                return fail(
                    "retention_archive_dir",
                    format!("{} is not a directory; create it first", dir.display()),
                );
            }
        }
        for origin in &self.cors_origins {
            if origin.parse::<axum::http::HeaderValue>().is_err() || !origin.contains("://") {
                return fail(
                    "cors_origins",
                    format!("{origin:?} is not an origin; accepted: scheme://host[:port]"),
                );
            }
        }
        Ok(())
    }

    /// The effective cap on `limit`: `max_limit`, never above the store's
    /// own [`eventdag::MAX_LIMIT`].
    #[must_use]
    pub fn limit_cap(&self) -> usize {
        self.max_limit.min(eventdag::MAX_LIMIT)
    }

    /// The `limit` to use for a request: its own (capped) or the default.
    #[must_use]
    pub fn limit(&self, requested: Option<usize>) -> usize {
        requested
            .unwrap_or(self.default_limit)
            .min(self.limit_cap())
    }
}
