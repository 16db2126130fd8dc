//! The state every handler shares: the store, the settings and the
//! server's own machinery (key cache, rate limiter, metrics, wake-ups).

use std::sync::Arc;

use eventdag::RawJson;
use eventdag::{DagStore, Forgetting, TenantStore, WorkQueue};
use tokio::sync::watch;

use crate::auth::KeyCache;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::rate_limit::RateLimiter;
use crate::ServerConfig;

/// What the server needs of a store: events with JSON payloads, the
/// tenant registry, the work queue and forgetting (redaction, retention,
/// tenant erasure). Every EventDag backend qualifies.
pub trait ServerStore:
    DagStore<Payload = RawJson> + TenantStore + WorkQueue + Forgetting + 'static
{
}

impl<S> ServerStore for S where
    S: DagStore<Payload = RawJson> + TenantStore + WorkQueue + Forgetting + 'static
{
}

/// Shared state of the router. Cloning is cheap (one `Arc`).
pub struct AppState<S> {
    pub(crate) inner: Arc<Inner<S>>,
}

pub(crate) struct Inner<S> {
    pub(crate) store: Arc<S>,
    pub(crate) config: ServerConfig,
    pub(crate) keys: KeyCache,
    pub(crate) limiter: RateLimiter,
    pub(crate) metrics: Metrics,
    pub(crate) notifier: Notifier,
    /// Flips to `true` when the server shuts down: live streams end so
    /// that graceful shutdown does not wait for them forever.
    pub(crate) shutdown: watch::Sender<bool>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: ServerStore> AppState<S> {
    /// State over `store` with `config`.
    pub fn new(store: Arc<S>, config: ServerConfig) -> Self {
        let (shutdown, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                keys: KeyCache::new(config.key_cache_ttl),
                limiter: RateLimiter::new(&config),
                metrics: Metrics::new(),
                notifier: Notifier::new(),
                store,
                config,
                shutdown,
            }),
        }
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<S> {
        &self.inner.store
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Ends every live stream of this state (called by [`crate::serve`]
    /// when a shutdown signal arrives, before waiting for in-flight
    /// requests).
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }
}
