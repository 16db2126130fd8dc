//! Prometheus metrics of one server: requests and their latency per
//! route, and the time of every store operation.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::{AppState, ServerStore};

/// The registry of one [`AppState`] (not the process-global one, so that
/// several servers in one process keep separate figures).
pub(crate) struct Metrics {
    registry: Registry,
    /// `None` only if the constant metric definitions were refused, which
    /// cannot happen with the literals below; the server then runs without
    /// metrics instead of failing.
    set: Option<MetricSet>,
}

struct MetricSet {
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    store_seconds: HistogramVec,
    appended: IntCounter,
    store_errors: IntCounterVec,
    retention_runs: IntCounterVec,
    retention_removed_events: IntCounter,
    retention_removed_chains: IntCounter,
}

/// What a store operation came to, as a label: a closed set, so that a
/// storage failure is never counted with a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreOutcome {
    /// It did what was asked.
    Ok,
    /// The store refused it: the caller's fault (not found, conflict,
    /// invalid input, cancelled chain) or backpressure.
    Refused,
    /// Infrastructure failed (storage unavailable, timeout, corruption).
    Failed,
}

impl StoreOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// The methods counted by name; any other is `other`, so that invented
/// methods cannot add series.
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

impl MetricSet {
    fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "eventdag_http_requests_total",
                "HTTP requests by method, route and status",
            ),
            &["method", "route", "status"],
        )?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "eventdag_http_request_duration_seconds",
                "HTTP request latency until the response head, by method and route",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let store_seconds = HistogramVec::new(
            HistogramOpts::new(
                "eventdag_store_operation_duration_seconds",
                "Store operation latency by operation and outcome",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["operation", "outcome"],
        )?;
        let appended = IntCounter::new(
            "eventdag_events_appended_total",
            "Events appended through this server (idempotent re-appends included)",
        )?;
        let store_errors = IntCounterVec::new(
            Opts::new(
                "eventdag_store_errors_total",
                "Store operations that failed for operational reasons (storage unavailable, timeout, corruption), by operation",
            ),
            &["operation"],
        )?;
        let retention_runs = IntCounterVec::new(
            Opts::new(
                "eventdag_retention_runs_total",
                "Retention runs of one tenant's policy, by trigger (background, request) and outcome (ok, failed)",
            ),
            &["trigger", "outcome"],
        )?;
        let retention_removed_events = IntCounter::new(
            "eventdag_retention_removed_events_total",
            "Events removed by retention runs of this server",
        )?;
        let retention_removed_chains = IntCounter::new(
            "eventdag_retention_removed_chains_total",
            "Correlation chains removed by retention runs of this server",
        )?;
        registry.register(Box::new(retention_runs.clone()))?;
        registry.register(Box::new(retention_removed_events.clone()))?;
        registry.register(Box::new(retention_removed_chains.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(request_seconds.clone()))?;
        registry.register(Box::new(store_seconds.clone()))?;
        registry.register(Box::new(appended.clone()))?;
        registry.register(Box::new(store_errors.clone()))?;
        Ok(Self {
            requests,
            request_seconds,
            store_seconds,
            appended,
            store_errors,
            retention_runs,
            retention_removed_events,
            retention_removed_chains,
        })
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let set = MetricSet::register(&registry)
            .inspect_err(|error| tracing::warn!(%error, "metrics disabled"))
            .ok();
        Self { registry, set }
    }

    /// Records one store operation (`operation` is one of the handlers'
    /// fixed names).
    pub(crate) fn store_op(&self, operation: &str, outcome: StoreOutcome, elapsed: Duration) {
        if let Some(set) = &self.set {
            set.store_seconds
                .with_label_values(&[operation, outcome.label()])
                .observe(elapsed.as_secs_f64());
            if outcome == StoreOutcome::Failed {
                set.store_errors.with_label_values(&[operation]).inc();
            }
        }
    }

    /// Counts events appended.
    pub(crate) fn appended(&self, events: usize) {
        if let Some(set) = &self.set {
            set.appended.inc_by(events as u64);
        }
    }

    /// Counts one retention run of one tenant (`trigger`: `background` or
    /// `request`) and what it removed.
    pub(crate) fn retention_run(&self, trigger: &'static str, removed: Option<(usize, usize)>) {
        if let Some(set) = &self.set {
            let outcome = if removed.is_some() { "ok" } else { "failed" };
            set.retention_runs
                .with_label_values(&[trigger, outcome])
                .inc();
            if let Some((chains, events)) = removed {
                set.retention_removed_chains.inc_by(chains as u64);
                set.retention_removed_events.inc_by(events as u64);
            }
        }
    }

    fn request(&self, method: &str, route: &str, status: &str, elapsed: Duration) {
        if let Some(set) = &self.set {
            set.request_seconds
                .with_label_values(&[method, route])
                .observe(elapsed.as_secs_f64());
            set.requests
                .with_label_values(&[method, route, status])
                .inc();
        }
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(%error, "cannot encode metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Middleware: counts every request by its route template (never the raw
/// path, so ids do not explode the label set) and times it.
pub(crate) async fn track<S: ServerStore>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    // The route is a template of the router (or `unmatched`) and the
    // method one of METHODS or `other`: the label set is bounded.
    let method = request.method().as_str();
    let method = METHODS
        .iter()
        .find(|known| **known == method)
        .map_or("other", |known| *known);
    let started = Instant::now();
    let response = next.run(request).await;
    state.inner.metrics.request(
        method,
        &route,
        response.status().as_str(),
        started.elapsed(),
    );
    response
}
