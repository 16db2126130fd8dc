//! A real `eventdag serve` in the test process: the router of
//! eventdag-server on a socket on port 0, over a store the test owns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eventdag::{TenantId, TenantRecord, TenantStore};
use eventdag_server::{AppState, ServerConfig, ServerStore};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The administrator key of the test servers.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef0123456789";

/// Settings for tests: keys work at once, streams poll fast, no rate
/// limit (the suite's concurrency cases would trip it), admin routes on.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        admin_key: Some(eventdag_server::AdminKey::parse(ADMIN_KEY).expect("admin key")),
        key_cache_ttl: Duration::ZERO,
        stream_poll_interval: Duration::from_millis(20),
        rate_limit_per_second: 0,
        ..ServerConfig::default()
    }
}

/// A running server; [`Server::stop`] shuts it down gracefully.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `store` on `addr` (port 0 for any free port).
    pub async fn start<S: ServerStore>(store: Arc<S>, addr: SocketAddr) -> Self {
        Self::start_with(store, addr, test_config()).await
    }

    /// [`Server::start`] with `config`.
    pub async fn start_with<S: ServerStore>(
        store: Arc<S>,
        addr: SocketAddr,
        config: ServerConfig,
    ) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(store, config);
        let task = tokio::spawn(async move {
            eventdag_server::serve_listener(state, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts down (live streams end) and waits until the socket is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Registers `tenant` under `name` and returns a fresh key of it.
pub async fn key_for<S: TenantStore>(store: &S, tenant: TenantId, name: &str) -> String {
    let record = TenantRecord {
        tenant_id: tenant,
        name: name.to_owned(),
        created_at: eventdag::now_micros(),
    };
    assert!(
        store.create_tenant(record).await.is_ok(),
        "create tenant {name}"
    );
    eventdag_server::create_api_key(store, tenant)
        .await
        .expect("create key")
        .api_key
}
