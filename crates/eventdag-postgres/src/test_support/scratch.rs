//! Scratch databases: each test gets its own database, created on the
//! server named by `EVENTDAG_TEST_DATABASE_URL` (default
//! [`DEFAULT_TEST_URL`]) and dropped `WITH (FORCE)` with its guard.
//!
//! [`ScratchDatabase::migrated`] copies a template database that already
//! holds the schema (`CREATE DATABASE … TEMPLATE`), instead of running
//! every migration for each of the few hundred tests that need a store:
//! the template is built once per schema (its name carries a hash of the
//! migrations), by whichever test process gets there first. It outlives
//! the test processes so that they share it; `scripts/test.sh` drops it
//! when the run ends (a plain `cargo test` leaves it for the next run,
//! and a changed schema drops the old one).

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

    /// A new database that already holds this release's schema, copied
    /// from a template built once per schema version. Opening a store on
    /// it finds no migration left to run.
    pub async fn migrated() -> Self {
        let admin_url = admin_url();
        let template = ensure_template(&admin_url).await;
        let name = format!("eventdag_test_{}", uuid::Uuid::now_v7().simple());
        let mut connection = admin(&admin_url).await;
        connection
            .execute(format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"").as_str())
            .await
            .expect("create scratch database from the migrated template");
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

/// Prefix of the template databases' names.
const TEMPLATE_PREFIX: &str = "eventdag_template_";

/// The name of the template of this release's schema: a hash of every
/// migration's version and checksum, so a changed migration gets a new
/// template and never a stale one.
fn template_name() -> String {
    use std::hash::{Hash, Hasher};
    let migrator = sqlx::migrate!("./migrations");
    // Fixed keys: the same migrations give the same name in every process
    // of a run (a toolchain with another hasher only builds a new one).
    let mut hasher = std::hash::DefaultHasher::new();
    for migration in migrator.iter() {
        migration.version.hash(&mut hasher);
        migration.checksum.hash(&mut hasher);
    }
    format!("{TEMPLATE_PREFIX}{:016x}", hasher.finish())
}

/// Builds the template once (under an advisory lock, so that concurrent
/// test processes build it once between them) and answers its name. It
/// is built under a temporary name and renamed when complete, so a
/// process that died halfway leaves no template that looks ready.
async fn ensure_template(admin_url: &str) -> String {
    let name = template_name();
    let mut connection = admin(admin_url).await;
    if template_exists(&mut connection, &name).await {
        let _ = connection.close().await;
        return name;
    }
    // Any constant: it only serialises template builders.
    sqlx::query("SELECT pg_advisory_lock(7400017)")
        .execute(&mut connection)
        .await
        .expect("take the template lock");
    if !template_exists(&mut connection, &name).await {
        let building = format!("{name}_building_{}", uuid::Uuid::now_v7().simple());
        connection
            .execute(format!("CREATE DATABASE \"{building}\"").as_str())
            .await
            .expect("create the template database");
        {
            let mut target = PgConnection::connect(&with_database(admin_url, &building))
                .await
                .expect("connect to the template database");
            sqlx::migrate!("./migrations")
                .run(&mut target)
                .await
                .expect("migrate the template database");
            let _ = target.close().await;
        }
        connection
            .execute(format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"").as_str())
            .await
            .expect("publish the template database");
        drop_stale_templates(&mut connection, &name).await;
    }
    sqlx::query("SELECT pg_advisory_unlock(7400017)")
        .execute(&mut connection)
        .await
        .expect("release the template lock");
    let _ = connection.close().await;
    name
}

async fn template_exists(connection: &mut PgConnection, name: &str) -> bool {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(connection)
        .await
        .expect("read pg_database");
    count > 0
}

/// Drops the templates of other schema versions (and half-built ones).
async fn drop_stale_templates(connection: &mut PgConnection, current: &str) {
    let names: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{TEMPLATE_PREFIX}%' AND datname <> '{current}'"
    ))
    .fetch_all(&mut *connection)
    .await
    .expect("list templates");
    for stale in names {
        // Another run may still copy it; that copy then fails loudly, and
        // its run built with an older schema anyway.
        let _ = connection
            .execute(format!("DROP DATABASE IF EXISTS \"{stale}\" WITH (FORCE)").as_str())
            .await;
    }
}
