//! Server settings with documented defaults that a user never needs to
//! change to get correct behaviour.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of the HTTP server. Every field has a default (see
/// [`ServerConfig::default`]); change only what you need.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A request that has not produced its response after this long gets
    /// 503 `timeout`. Streams are bounded only until their headers are
    /// sent. Default 30 s.
    pub request_timeout: Duration,
    /// Sustained requests per second allowed per API key (per the default
    /// tenant when no keys exist); 0 disables the limit. Default 1,000.
    pub rate_limit_per_second: u32,
    /// Requests a key may send at once above the sustained rate. Default
    /// 2,000.
    pub rate_limit_burst: u32,
    /// How long a found API key is remembered before the store is asked
    /// again: the longest time a revoked key keeps working on a running
    /// server. Unknown keys are never cached, so a new key works at once.
    /// Default 1 s.
    pub key_cache_ttl: Duration,
    /// How often a live stream polls the store for events written by
    /// other processes (this server's own writes wake streams at once).
    /// Default 250 ms.
    pub stream_poll_interval: Duration,
    /// Most events or signals a stream reads from the store per poll.
    /// Default 256.
    pub stream_batch: usize,
}

/// The default listen address of SPEC §7.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7400";

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 7400)),
            max_body_bytes: 4 * 1024 * 1024,
            max_limit: eventdag::MAX_LIMIT,
            default_limit: 100,
            request_timeout: Duration::from_secs(30),
            rate_limit_per_second: 1_000,
            rate_limit_burst: 2_000,
            key_cache_ttl: Duration::from_secs(1),
            stream_poll_interval: Duration::from_millis(250),
            stream_batch: 256,
        }
    }
}

impl ServerConfig {
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
