//! Running the router on a socket with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use axum_server::tls_rustls::RustlsConfig;
use eventdag::Effect;
use tokio::net::TcpListener;

use crate::{app, AppState, ServeError, ServerStore};

/// Binds `state.config().addr` and serves until SIGTERM or SIGINT; see
/// [`serve_listener`]. Returns once in-flight requests have finished, so
/// that the caller can close the store.
///
/// # Errors
/// [`ServeError::InsecureAddress`] when no API key exists and the address
/// is not loopback; [`ServeError::Io`] when binding fails.
pub async fn serve<S: ServerStore>(state: AppState<S>) -> Result<(), ServeError> {
    let addr = state.config().addr;
    check_address(&state, addr).await?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Io { addr, source })?;
    serve_listener(state, listener, shutdown_signal()).await
}

/// Serves on an already bound listener until `shutdown` completes: then
/// stops accepting, ends live streams, waits for in-flight requests and
/// returns. Refuses, like [`serve`], a non-loopback listener while no API
/// key exists.
///
/// # Errors
/// As [`serve`].
pub async fn serve_listener<S: ServerStore>(
    state: AppState<S>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener.local_addr().map_err(|source| ServeError::Io {
        addr: state.config().addr,
        source,
    })?;
    check_address(&state, addr).await?;
    let router = app(state.clone());
    // Background retention (`retention_interval`, 0: off). Aborted once
    // serving ends: each chain removal is one write of the store, so
    // stopping between two leaves no chain half removed (an archived
    // chain whose removal did not start is archived again next run).
    let retention = tokio::spawn(crate::retention::run_periodically(
        state.clone(),
        state.inner.shutdown.subscribe(),
    ));
    let stopping = state.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        stopping.begin_shutdown();
    };
    let served: Result<(), ServeError> = async {
        match state.config().tls.clone() {
            None => {
                warn_if_keys_in_clear(&state, addr).await;
                tracing::info!(%addr, "eventdag server listening (HTTP)");
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .map_err(|source| ServeError::Io { addr, source })?;
            }
            Some(tls) => {
                let rustls = RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                    .await
                    .map_err(|source| ServeError::Tls {
                        cert: tls.cert.clone(),
                        key: tls.key.clone(),
                        source,
                    })?;
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    stopper.graceful_shutdown(None);
                });
                let listener = listener
                    .into_std()
                    .map_err(|source| ServeError::Io { addr, source })?;
                tracing::info!(%addr, "eventdag server listening (HTTPS)");
                axum_server::from_tcp_rustls(listener, rustls)
                    .map_err(|source| ServeError::Io { addr, source })?
                    .handle(handle)
                    .serve(router.into_make_service())
                    .await
                    .map_err(|source| ServeError::Io { addr, source })?;
            }
        }
        Ok(())
    }
    .await;
    retention.abort();
    // The task's end (normal or aborted) is all that matters here.
    let _ = retention.await;
    served?;
    tracing::info!("server stopped");
    Ok(())
}

/// API keys over plain HTTP beyond loopback cross the network in clear:
/// said loudly, on the log and on stderr, at every start.
async fn warn_if_keys_in_clear<S: ServerStore>(state: &AppState<S>, addr: SocketAddr) {
    if addr.ip().is_loopback() {
        return;
    }
    if let Effect::Ok(keys) = state.store().list_api_keys().await {
        if !keys.is_empty() {
            let warning = format!(
                "WARNING: serving API keys over plain HTTP on {addr}: keys and events cross the network unencrypted; configure tls (cert and key) or put a TLS proxy in front"
            );
            tracing::warn!("{warning}");
            eprintln!("{warning}");
        }
    }
}

/// Refuses a non-loopback address while the store holds no API key.
async fn check_address<S: ServerStore>(
    state: &AppState<S>,
    addr: SocketAddr,
) -> Result<(), ServeError> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    match state.store().list_api_keys().await {
        Effect::Ok(keys) if keys.is_empty() => Err(ServeError::InsecureAddress { addr }),
        Effect::Ok(_) => Ok(()),
        other => Err(ServeError::Store(other.into_result().err().unwrap_or_else(
            || eventdag::ErrorEffect::unavailable("list_api_keys", "no answer"),
        ))),
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
