//! Scratch databases: each test gets its own database, created on the
//! server named by `EVENTDAG_TEST_DATABASE_URL` (default
//! [`DEFAULT_TEST_URL`]) and dropped `WITH (FORCE)` with its guard.

use sqlx::{Connection, Executor, PgConnection};

/// The server tests use unless `EVENTDAG_TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The administrative URL of the test server.
#[must_use]
pub fn admin_url() -> String {
    std::env::var("EVENTDAG_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_URL.to_owned())
}

/// `url` with its database replaced by `database`.
#[must_use]
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
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

/// A database that exists until this guard is dropped.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
}

impl ScratchDatabase {
    /// Creates a new, empty database (no schema yet).
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let name = format!("eventdag_test_{}", uuid::Uuid::now_v7().simple());
        let mut connection = admin(&admin_url).await;
        connection
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("create scratch database");
        let _ = connection.close().await;
        Self { admin_url, name }
    }

    /// The URL of the scratch database.
    #[must_use]
    pub fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }

    /// The database's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchDatabase {
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
