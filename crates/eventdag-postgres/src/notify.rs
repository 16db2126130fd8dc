//! Change notifications: every write, once committed, announces itself
//! with `NOTIFY` on [`CHANNEL`] (so only committed writes are announced),
//! and [`PgDag::subscribe`] fans them out to tasks through a broadcast
//! channel fed by one `LISTEN` connection that reconnects by itself.

use std::time::Duration;

use eventdag::{EventId, EventKind, TenantId};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{broadcast, mpsc};

use crate::{PgDag, PgError};

/// The `LISTEN` channel of EventDag's notifications.
pub const CHANNEL: &str = "eventdag_changes";

/// At most this many events are named in one [`PgChange::Appended`]; the
/// notification stays far under PostgreSQL's 8000-byte payload limit.
pub const MAX_NOTIFIED_EVENTS: usize = 64;

/// Pause between attempts to re-establish a lost `LISTEN` connection.
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);

/// An event named in a [`PgChange::Appended`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendedEvent {
    /// The event.
    pub id: EventId,
    /// Its kind.
    pub kind: EventKind,
}

/// A committed change, as announced to subscribers. Ids and kinds only:
/// read the rest through the store (e.g. [`eventdag::DagStore::events_after`]
/// with the cursors given here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PgChange {
    /// Events were appended to a tenant's log, at cursors
    /// `first_cursor..=last_cursor`.
    Appended {
        /// The tenant.
        tenant_id: TenantId,
        /// Cursor of the first event of the write.
        first_cursor: u64,
        /// Cursor of the last event of the write.
        last_cursor: u64,
        /// The first [`MAX_NOTIFIED_EVENTS`] events of the write.
        events: Vec<AppendedEvent>,
        /// Whether `events` leaves some out.
        truncated: bool,
    },
    /// An event was acknowledged for the first time.
    Acknowledged {
        /// The tenant.
        tenant_id: TenantId,
        /// The event.
        event_id: EventId,
    },
    /// A signal was stored (and delivered upstream).
    Signalled {
        /// The tenant.
        tenant_id: TenantId,
        /// Its sequence in the tenant's signal log.
        sequence: u64,
        /// The event it was sent from.
        from: EventId,
        /// The signal's type name (`ack`, `cancel`, …).
        signal: String,
    },
    /// A chain was cancelled or put under backpressure.
    ChainChanged {
        /// The tenant.
        tenant_id: TenantId,
        /// The chain.
        correlation_id: EventId,
    },
    /// An event's payload was removed.
    Redacted {
        /// The tenant.
        tenant_id: TenantId,
        /// The event.
        event_id: EventId,
    },
    /// A correlation chain was removed by retention.
    ChainRemoved {
        /// The tenant.
        tenant_id: TenantId,
        /// The chain.
        correlation_id: EventId,
        /// How many events went.
        events: usize,
    },
    /// A tenant was erased. Which one is not said: notifications should
    /// not carry the id of a tenant that is being forgotten.
    TenantErased,
    /// The listening connection was lost and is back: notifications of the
    /// gap are gone, so subscribers re-read from their cursors.
    Resync,
}

/// Sends each batch of notifications in turn until the store is dropped.
async fn send_in_order(pool: PgPool, mut notices: mpsc::UnboundedReceiver<Vec<String>>) {
    while let Some(changes) = notices.recv().await {
        let sent = sqlx::query(crate::queries::ANNOUNCE)
            .bind(CHANNEL)
            .bind(&changes)
            .execute(&pool)
            .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "committed, but the change notification was not sent");
        }
    }
}

impl PgChange {
    /// The notification payload (JSON).
    pub(crate) fn payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl<P> PgDag<P> {
    /// Sends `changes` (JSON payloads) after their write committed, in a
    /// statement of their own, off the caller's path: one task per store
    /// sends them in the order they were handed over, so the caller (and
    /// the append committer, which would otherwise wait one more round
    /// trip per group) does not wait for it. `NOTIFY` inside the write
    /// would hold PostgreSQL's database-wide notification lock through
    /// the commit's WAL flush and so serialise every writer's commit.
    /// Notifications are wake-ups only: a lost one loses nothing, every
    /// change is in the durable change log (`crate::changes`).
    pub(crate) fn announce(&self, changes: Vec<String>) {
        if !self.inner.options.notify || changes.is_empty() {
            return;
        }
        let sender = self.inner.notices.get_or_init(|| {
            let (sender, notices) = mpsc::unbounded_channel();
            tokio::spawn(send_in_order(self.inner.pool.clone(), notices));
            sender
        });
        // Fails only once the task ended, which it does when the store goes.
        let _ = sender.send(changes);
    }

    /// Subscribes to committed changes of every tenant. The first call
    /// opens one `LISTEN` connection from the pool (held for the life of
    /// the store); every change committed after this returns is delivered
    /// to the receiver, except across a lost connection, which is reported
    /// as [`PgChange::Resync`]. A receiver that falls more than 4096
    /// changes behind gets `RecvError::Lagged` and should resynchronise
    /// the same way.
    ///
    /// # Errors
    /// [`PgError::Connect`] when the listening connection cannot be opened.
    pub async fn subscribe(&self) -> Result<broadcast::Receiver<PgChange>, PgError> {
        let receiver = self.inner.changes.subscribe();
        let running = self
            .inner
            .listener
            .lock()
            .map_or(true, |task| task.is_some());
        if running {
            return Ok(receiver);
        }
        let listener = listen(&self.inner.pool).await?;
        let mut slot = self
            .inner
            .listener
            .lock()
            .map_err(|_| PgError::InvalidConfig {
                message: "subscription state poisoned by a panic".into(),
            })?;
        if slot.is_none() {
            let pool = self.inner.pool.clone();
            let sender = self.inner.changes.clone();
            *slot = Some(tokio::spawn(forward(listener, pool, sender)));
        }
        Ok(receiver)
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, PgError> {
    let connect = |source: sqlx::Error| PgError::Connect {
        source: Box::new(source),
    };
    let mut listener = PgListener::connect_with(pool).await.map_err(connect)?;
    listener.listen(CHANNEL).await.map_err(connect)?;
    Ok(listener)
}

/// Forwards notifications until the store is dropped (which aborts this
/// task); re-establishes the connection when it is lost.
async fn forward(mut listener: PgListener, pool: PgPool, sender: broadcast::Sender<PgChange>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if let Ok(change) = serde_json::from_str::<PgChange>(notification.payload()) {
                    // No receiver is not an error: nobody listens right now.
                    let _ = sender.send(change);
                }
            }
            Ok(None) | Err(_) => {
                listener = loop {
                    if let Ok(fresh) = listen(&pool).await {
                        break fresh;
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                };
                let _ = sender.send(PgChange::Resync);
            }
        }
    }
}
