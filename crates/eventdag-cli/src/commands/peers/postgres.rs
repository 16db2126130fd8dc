//! PostgreSQL written directly through sqlx, the driver EventDag uses:
//! plain tables, single-row INSERT commits, multi-row INSERTs, and a
//! recursive CTE over a parent column for the most recent events.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::PgPoolOptions;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row as _};
use uuid::Uuid;

use super::peer::Peer;
use super::rows;
use super::workload::{payload, Workload, APPENDERS};
use super::SystemResult;

/// The tables: appends go to `plain_events` (an id and the payload, no
/// more); the chain the reads run over also keeps each event's parent.
const SCHEMA: &str = "
    CREATE TABLE plain_events (id uuid PRIMARY KEY, payload jsonb NOT NULL);
    CREATE TABLE chain_events (id uuid PRIMARY KEY, parent uuid, payload jsonb NOT NULL);
";

/// The chain from an event back through its parents, at most $2 rows,
/// the event first.
const RECENT: &str = "
    WITH RECURSIVE up AS (
        SELECT id, parent, payload, 1 AS n FROM chain_events WHERE id = $1
      UNION ALL
        SELECT c.id, c.parent, c.payload, up.n + 1
        FROM chain_events c JOIN up ON c.id = up.parent
        WHERE up.n < $2
    )
    SELECT payload FROM up ORDER BY n";

/// Plain PostgreSQL through one pool.
struct PostgresPeer {
    /// As many connections as appenders, so that each has its own, as in
    /// PgDag's default pool of 16.
    pool: PgPool,
    /// The payload's JSON text, encoded once and cast to jsonb by the server.
    payload: String,
}

#[async_trait]
impl Peer for PostgresPeer {
    type Key = Uuid;

    async fn append(&self) -> anyhow::Result<()> {
        // One autocommit statement: one commit, one WAL flush.
        sqlx::query("INSERT INTO plain_events (id, payload) VALUES ($1, $2::jsonb)")
            .bind(Uuid::now_v7())
            .bind(&self.payload)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn append_batch(&self, size: usize) -> anyhow::Result<()> {
        let mut insert = QueryBuilder::<Postgres>::new("INSERT INTO plain_events (id, payload) ");
        insert.push_values(0..size, |mut row, _| {
            row.push_bind(Uuid::now_v7())
                .push_bind(&self.payload)
                .push_unseparated("::jsonb");
        });
        insert.build().execute(&self.pool).await?;
        Ok(())
    }

    async fn write_chain(&self, length: usize) -> anyhow::Result<Vec<Uuid>> {
        let ids: Vec<Uuid> = (0..length).map(|_| Uuid::now_v7()).collect();
        let mut insert =
            QueryBuilder::<Postgres>::new("INSERT INTO chain_events (id, parent, payload) ");
        insert.push_values(ids.iter().enumerate(), |mut row, (index, id)| {
            let parent = index
                .checked_sub(1)
                .and_then(|parent| ids.get(parent))
                .copied();
            row.push_bind(*id)
                .push_bind(parent)
                .push_bind(&self.payload)
                .push_unseparated("::jsonb");
        });
        insert.build().execute(&self.pool).await?;
        Ok(ids)
    }

    async fn read(&self, key: &Uuid) -> anyhow::Result<()> {
        let row = sqlx::query("SELECT payload FROM chain_events WHERE id = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        let Json(_payload): Json<Value> = row.try_get("payload")?;
        Ok(())
    }

    async fn recent(&self, key: &Uuid, limit: usize) -> anyhow::Result<()> {
        let rows = sqlx::query(RECENT)
            .bind(key)
            .bind(i32::try_from(limit)?)
            .fetch_all(&self.pool)
            .await?;
        anyhow::ensure!(rows.len() == limit, "{} rows returned", rows.len());
        for row in rows {
            let Json(_payload): Json<Value> = row.try_get("payload")?;
        }
        Ok(())
    }
}

/// Measures plain PostgreSQL in the scratch database at `url`.
pub(super) async fn system(url: &str, workload: &Workload) -> SystemResult {
    let connected = async {
        let pool = PgPoolOptions::new()
            .max_connections(u32::try_from(APPENDERS)?)
            .connect(url)
            .await
            .context("connecting")?;
        sqlx::raw_sql(SCHEMA)
            .execute(&pool)
            .await
            .context("creating the tables")?;
        anyhow::Ok(PostgresPeer {
            pool,
            payload: serde_json::to_string(&payload())?,
        })
    };
    match connected.await {
        Ok(peer) => {
            let peer = Arc::new(peer);
            let results = rows::run_all(Arc::clone(&peer), workload).await;
            peer.pool.close().await;
            SystemResult::Measured(results)
        }
        Err(error) => SystemResult::Unreachable(format!("{error:#}")),
    }
}
