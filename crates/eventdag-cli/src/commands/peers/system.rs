//! The systems of the table: their labels, in table order, and how each
//! expresses the rows.

/// One measured system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum System {
    /// EventDag's library on its embedded LMDB store: the reference.
    Embedded,
    /// `eventdag serve` on the embedded store, over loopback HTTP.
    Http,
    /// EventDag's library on PostgreSQL.
    EventDagPostgres,
    /// The machine's NATS server with its default sync setting.
    JetStreamMachine,
    /// A private nats-server syncing every write.
    JetStreamPrivate,
    /// PostgreSQL written directly through sqlx.
    Postgres,
    /// SQLite written directly through rusqlite.
    Sqlite,
}

impl System {
    /// Every system, in table order.
    pub(super) const ALL: [Self; 7] = [
        Self::Embedded,
        Self::Http,
        Self::EventDagPostgres,
        Self::JetStreamMachine,
        Self::JetStreamPrivate,
        Self::Postgres,
        Self::Sqlite,
    ];

    /// The reference every ratio is taken against.
    pub(super) const REFERENCE: Self = Self::Embedded;

    /// The name in the table.
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Embedded => "EventDag embedded (LMDB)",
            Self::Http => "EventDag over HTTP (serve, LMDB)",
            Self::EventDagPostgres => "EventDag on PostgreSQL",
            Self::JetStreamMachine => "JetStream (machine server, default sync)",
            Self::JetStreamPrivate => "JetStream (private, sync_interval: always)",
            Self::Postgres => "PostgreSQL direct (sqlx)",
            Self::Sqlite => "SQLite (WAL, synchronous=FULL)",
        }
    }

    /// How the system does the rows, printed under the table.
    pub(super) fn how(self) -> &'static str {
        match self {
            Self::Embedded => {
                "LmdbDag in a fresh temporary directory, default options (every commit \
                 fdatasynced; group commit of queued writes). append_new (position assigned \
                 in the write transaction), append_new_batch, read, walk_ancestors(limit 100) \
                 on a chain of 1,000."
            }
            Self::Http => {
                "`eventdag serve` (this program, default configuration) on a fresh embedded store, reqwest with keep-alive: POST \
                 /v1/events, POST /v1/events:batch, GET /v1/events/{id}, GET \
                 /v1/events/{id}/ancestors?limit=100. A 429 is waited out (Retry-After, whole \
                 seconds), retried and counted in the note."
            }
            Self::EventDagPostgres => {
                "PgDag (default pool of 16) in the scratch database, the same calls as \
                 embedded; appends that arrive together share one transaction (group \
                 commit); \"16 tenants\": each appender writes into its own tenant."
            }
            Self::JetStreamMachine => {
                "the server at --nats-url with its own sync setting (not an fsync per \
                 message), a file stream with direct gets: publish and wait for the PubAck; \
                 batch = 1,000 publishes in flight, then every PubAck (no multi-message \
                 commit); read = direct get by sequence; 100 most recent = direct gets of the \
                 100 sequences up to it, in flight at once (a stream has no parent links: these \
                 are the ancestors only of one chain written in stream order)."
            }
            Self::JetStreamPrivate => {
                "--nats-server started on a free port with `jetstream { store_dir: <temp>, \
                 sync_interval: always }` (an fsync per write: what EventDag's Ok promises); \
                 the same calls as the machine server."
            }
            Self::Postgres => {
                "sqlx pool of 16 in the scratch database, plain table (id uuid primary key, \
                 payload jsonb): append = one single-row INSERT commit; batch = one multi-row \
                 INSERT of 1,000; read = SELECT by primary key; 100 most recent = recursive \
                 CTE over a parent column, 100 levels."
            }
            Self::Sqlite => {
                "rusqlite (bundled) on a temporary file, WAL, synchronous=FULL, one \
                 connection (one writer at a time: the 16 appenders queue on it): append = one \
                 INSERT per transaction; batch = 1,000 prepared INSERTs in one transaction; \
                 read by primary key; 100 most recent = recursive CTE over a parent column."
            }
        }
    }
}
