//! Scratch databases for the integration tests: each test gets its own,
//! created on the server named by `EVENTDAG_TEST_DATABASE_URL` and dropped
//! (WITH (FORCE)) when its guard is dropped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eventdag_postgres::{PgDag, PgOptions};
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

/// Drops its database when dropped.
pub(crate) struct Guard {
    admin_url: String,
    name: String,
}

impl Guard {
    /// The URL of the scratch database.
    pub(crate) fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

impl Drop for Guard {
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

/// A new empty database (no schema yet) and its guard.
pub(crate) async fn scratch_database() -> Guard {
    let admin_url = admin_url();
    let name = format!("eventdag_test_{}", uuid::Uuid::now_v7().simple());
    let mut connection = admin(&admin_url).await;
    connection
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create scratch database");
    let _ = connection.close().await;
    Guard { admin_url, name }
}

/// A fresh store on a fresh database, with `options`.
pub(crate) async fn fresh_with(options: PgOptions) -> (PgDag<Value>, Guard) {
    let guard = scratch_database().await;
    let store = PgDag::connect_with(&guard.url(), options)
        .await
        .expect("connect to the scratch database");
    (store, guard)
}

/// A fresh store with a small pool, as the conformance suite uses.
pub(crate) async fn fresh() -> (PgDag<Value>, Guard) {
    fresh_with(PgOptions::new().max_connections(4)).await
}
