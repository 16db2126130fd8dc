//! The scratch PostgreSQL database both PostgreSQL systems write into,
//! `eventdag_peers_<pid>`, created at the start and dropped at the end.

use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection};

/// How long reaching the server may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database that exists until [`ScratchDatabase::drop_database`].
pub(super) struct ScratchDatabase {
    admin_url: String,
    name: String,
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    // The database is the path after the authority; without one, add it.
    let after_scheme = base.find("://").map_or(0, |at| at + 3);
    let server = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

async fn connect(url: &str) -> anyhow::Result<PgConnection> {
    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url))
        .await
        .context("connecting timed out")?
        .context("connecting")
}

impl ScratchDatabase {
    /// Creates `eventdag_peers_<pid>` on the server of `admin_url` (a user
    /// with CREATEDB), replacing one a killed run left behind.
    pub(super) async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("eventdag_peers_{}", std::process::id());
        let mut admin = connect(admin_url).await?;
        admin
            .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
            .await
            .context("dropping a leftover scratch database")?;
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .with_context(|| format!("creating the scratch database {name}"))?;
        // Closing politely only saves the server a log line.
        let _ = admin.close().await;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// The scratch database's URL.
    pub(super) fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }

    /// Drops the database, closing any connection still open to it.
    pub(super) async fn drop_database(self) -> anyhow::Result<()> {
        let mut admin = connect(&self.admin_url).await?;
        admin
            .execute(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name).as_str())
            .await
            .with_context(|| format!("dropping the scratch database {}", self.name))?;
        let _ = admin.close().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_replaced_or_added() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
