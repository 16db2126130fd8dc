//! Scratch PostgreSQL databases and cache directories for the integration
//! tests: each test gets its own database on the server named by
//! `EVENTDAG_TEST_DATABASE_URL` (dropped WITH (FORCE) with its guard) and
//! its own temporary cache directory.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::time::Duration;

use eventdag_postgres::PgOptions;
use eventdag_tiered::{TieredDag, TieredOptions};
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};

/// The server tests use unless `EVENTDAG_TEST_DATABASE_URL` says otherwise.
pub(crate) const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The administrative URL of the test server.
pub(crate) fn admin_url() -> String {
    std::env::var("EVENTDAG_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database replaced by `database`.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (server, _) = base.rsplit_once('/').expect("URL has a /database part");
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

async fn admin(url: &str) -> PgConnection {
    match PgConnection::connect(url).await {
        Ok(connection) => connection,
        Err(err) => panic!(
            "PostgreSQL is not reachable at {url} ({err}). These tests need a real server: \
             start the local one with `pg_ctlcluster --skip-systemctl-redirect 15 main start`, \
             or point EVENTDAG_TEST_DATABASE_URL at one (user with CREATEDB)."
        ),
    }
}

/// A scratch database, dropped with the guard.
pub(crate) struct Database {
    admin_url: String,
    name: String,
}

impl Database {
    /// A new empty database.
    pub(crate) async fn create() -> Self {
        let admin_url = admin_url();
        let name = format!("eventdag_tiered_{}", uuid::Uuid::now_v7().simple());
        let mut connection = admin(&admin_url).await;
        connection
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create scratch database");
        let _ = connection.close().await;
        Self { admin_url, name }
    }

    /// Its URL.
    pub(crate) fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // A runtime of its own: Drop may run inside (or outside) another.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut connection = admin(&admin_url).await;
                connection
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await
                    .expect("drop scratch database");
                let _ = connection.close().await;
            });
        });
        let _ = dropper.join();
    }
}

/// A scratch database and a temporary cache directory.
pub(crate) struct Guard {
    pub(crate) cache_dir: tempfile::TempDir,
    pub(crate) database: Database,
}

/// Options for tests: a small pool.
pub(crate) fn test_options() -> TieredOptions {
    TieredOptions::new().postgres(PgOptions::new().max_connections(4))
}

/// A fresh store on a fresh database and cache directory, fresh (cached
/// flags served) before it is returned.
pub(crate) async fn fresh_with(options: TieredOptions) -> (TieredDag<Value>, Guard) {
    let database = Database::create().await;
    let cache_dir = tempfile::Builder::new()
        .prefix("eventdag-tiered-")
        .tempdir()
        .unwrap();
    let store = TieredDag::open_with(cache_dir.path(), &database.url(), options)
        .await
        .expect("open the tiered store");
    assert!(
        store.wait_fresh(Duration::from_secs(10)).await,
        "the notification heartbeat never came back"
    );
    (
        store,
        Guard {
            cache_dir,
            database,
        },
    )
}

/// A fresh store with the test options.
pub(crate) async fn fresh() -> (TieredDag<Value>, Guard) {
    fresh_with(test_options()).await
}
