//! What every measured system answers: the five operations of the
//! workload, each done the way a user of that system would do it.

use async_trait::async_trait;

/// One system under measurement. Every method does its whole operation
/// before it returns: an append is committed (durable as far as the
/// system's setting makes it), a read has decoded its payloads into
/// `serde_json::Value`, as EventDag's reads do.
#[async_trait]
pub(super) trait Peer: Send + Sync + 'static {
    /// What names a stored event: an id, or a stream sequence.
    type Key: Send + Sync + Clone + 'static;

    /// Appends one payload and waits for its commit.
    async fn append(&self) -> anyhow::Result<()>;

    /// Appends one payload as appender `appender` of the many-tenant row:
    /// a system with tenants writes into a tenant of the appender's own;
    /// the others append as [`Peer::append`] does.
    async fn append_as(&self, appender: usize) -> anyhow::Result<()> {
        let _ = appender;
        self.append().await
    }

    /// Appends `size` payloads in one commit (or as close to one as the
    /// system offers; its notes say how).
    async fn append_batch(&self, size: usize) -> anyhow::Result<()>;

    /// Writes a chain of `length` events, each the parent of the next, for
    /// the reads; not measured. Returns the keys in chain order.
    async fn write_chain(&self, length: usize) -> anyhow::Result<Vec<Self::Key>>;

    /// Reads one event by its key.
    async fn read(&self, key: &Self::Key) -> anyhow::Result<()>;

    /// Reads the `limit` most recent events up to `key` (the event itself
    /// first, then what came before it on the chain).
    async fn recent(&self, key: &Self::Key, limit: usize) -> anyhow::Result<()>;

    /// HTTP 429 answers seen since the last call (waited out and retried).
    fn take_throttled(&self) -> u64 {
        0
    }
}
