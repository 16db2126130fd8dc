//! SQLite through rusqlite (bundled), in WAL mode with
//! `synchronous=FULL`, in a temporary file: the embedded database users
//! would pick instead of EventDag's embedded store.

use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::{params, Connection};
use serde_json::Value;
use tempfile::TempDir;
use uuid::Uuid;

use super::peer::Peer;
use super::rows;
use super::workload::{payload, Workload};
use super::SystemResult;

/// The same tables as the PostgreSQL peer; ids as 16-byte blobs, keyed
/// without a rowid so that the id is the B-tree key.
const SCHEMA: &str = "
    CREATE TABLE plain_events (id BLOB PRIMARY KEY, payload TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE chain_events (id BLOB PRIMARY KEY, parent BLOB, payload TEXT NOT NULL) WITHOUT ROWID;
";

/// The chain from an event back through its parents, at most ?2 rows,
/// the event first.
const RECENT: &str = "
    WITH RECURSIVE up(id, parent, payload, n) AS (
        SELECT id, parent, payload, 1 FROM chain_events WHERE id = ?1
      UNION ALL
        SELECT c.id, c.parent, c.payload, up.n + 1
        FROM chain_events c JOIN up ON c.id = up.parent
        WHERE up.n < ?2
    )
    SELECT payload FROM up ORDER BY n";

/// One connection for every call. SQLite admits one writer at a time, so
/// the 16 appenders queue on this lock, as an application's writers
/// queue on its one write connection; each append is still its own
/// transaction and its own WAL fsync.
struct SqlitePeer {
    connection: Mutex<Connection>,
    /// The payload's JSON text, encoded once.
    payload: String,
    _dir: TempDir,
}

impl SqlitePeer {
    fn open() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("a temporary directory")?;
        let connection = Connection::open(dir.path().join("peers.sqlite"))?;
        let mode: String = connection.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "journal_mode is {mode}");
        connection.execute_batch("PRAGMA synchronous=FULL;")?;
        connection.execute_batch(SCHEMA)?;
        Ok(Self {
            connection: Mutex::new(connection),
            payload: serde_json::to_string(&payload())?,
            _dir: dir,
        })
    }

    /// The connection. The calls below block their thread while they hold
    /// it, as rusqlite calls do; nothing awaits while it is held.
    fn connection(&self) -> anyhow::Result<MutexGuard<'_, Connection>> {
        self.connection
            .lock()
            .map_err(|_| anyhow::anyhow!("an earlier SQLite call panicked"))
    }
}

#[async_trait]
impl Peer for SqlitePeer {
    type Key = Uuid;

    async fn append(&self) -> anyhow::Result<()> {
        let connection = self.connection()?;
        connection
            .prepare_cached("INSERT INTO plain_events (id, payload) VALUES (?1, ?2)")?
            .execute(params![Uuid::now_v7().as_bytes(), self.payload])?;
        Ok(())
    }

    async fn append_batch(&self, size: usize) -> anyhow::Result<()> {
        let mut connection = self.connection()?;
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction
                .prepare_cached("INSERT INTO plain_events (id, payload) VALUES (?1, ?2)")?;
            for _ in 0..size {
                insert.execute(params![Uuid::now_v7().as_bytes(), self.payload])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    async fn write_chain(&self, length: usize) -> anyhow::Result<Vec<Uuid>> {
        let ids: Vec<Uuid> = (0..length).map(|_| Uuid::now_v7()).collect();
        let mut connection = self.connection()?;
        let transaction = connection.transaction()?;
        {
            let mut insert = transaction
                .prepare("INSERT INTO chain_events (id, parent, payload) VALUES (?1, ?2, ?3)")?;
            for (index, id) in ids.iter().enumerate() {
                let parent = index.checked_sub(1).and_then(|parent| ids.get(parent));
                insert.execute(params![
                    id.as_bytes(),
                    parent.map(|parent| parent.as_bytes().to_vec()),
                    self.payload
                ])?;
            }
        }
        transaction.commit()?;
        Ok(ids)
    }

    async fn read(&self, key: &Uuid) -> anyhow::Result<()> {
        let connection = self.connection()?;
        let text: String = connection
            .prepare_cached("SELECT payload FROM chain_events WHERE id = ?1")?
            .query_row(params![key.as_bytes()], |row| row.get(0))?;
        let _payload: Value = serde_json::from_str(&text)?;
        Ok(())
    }

    async fn recent(&self, key: &Uuid, limit: usize) -> anyhow::Result<()> {
        let connection = self.connection()?;
        let mut statement = connection.prepare_cached(RECENT)?;
        let mut rows = statement.query(params![key.as_bytes(), i64::try_from(limit)?])?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            let text: String = row.get(0)?;
            let _payload: Value = serde_json::from_str(&text)?;
            count += 1;
        }
        anyhow::ensure!(count == limit, "{count} rows returned");
        Ok(())
    }
}

/// Measures SQLite on a fresh file, removed afterwards.
pub(super) async fn system(workload: &Workload) -> SystemResult {
    match SqlitePeer::open() {
        Ok(peer) => SystemResult::Measured(rows::run_all(Arc::new(peer), workload).await),
        Err(error) => SystemResult::Unreachable(format!("{error:#}")),
    }
}
