//! `eventdag serve`: the HTTP server on the chosen store.

use std::sync::Arc;

use anyhow::Context;
use eventdag_server::{AppState, ServerConfig};
use tracing_subscriber::EnvFilter;

use super::CliStore;

pub(super) async fn run<S: CliStore>(
    store: Arc<S>,
    config: ServerConfig,
    log_json: bool,
) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (only possible in tests) keeps the first.
    let _ = if log_json {
        logs.json().try_init()
    } else {
        logs.try_init()
    };
    let addr = config.addr;
    eventdag_server::serve(AppState::new(store, config))
        .await
        .with_context(|| format!("serving on {addr}"))
}
