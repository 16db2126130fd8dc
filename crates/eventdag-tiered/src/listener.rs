//! The background tasks of a node: the notification listener that keeps
//! cached flags current, the heartbeat that proves it is current (see
//! `freshness.rs`), and the evictor. Each holds the cache weakly and ends
//! when the store is dropped (which also aborts it).

use std::sync::{Arc, Weak};
use std::time::Duration;

use eventdag::{DagStore, Effect, EventFlags, UpstreamSignal};
use eventdag_postgres::{PgChange, PgDag, CHANNEL};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::postgres::{PgListener, PgPool};

use crate::answers::Answers;
use crate::cache::HotCache;
use crate::freshness::Freshness;

/// Pause between attempts to re-establish a lost `LISTEN` connection.
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);

/// What the listener needs.
pub(crate) struct Listening<P> {
    pub(crate) pg: PgDag<P>,
    pub(crate) cache: Weak<HotCache>,
    pub(crate) fresh: Arc<Freshness>,
    pub(crate) answers: Weak<Answers>,
    /// This node's heartbeat channel.
    pub(crate) channel: String,
}

async fn connect(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, channel]).await?;
    Ok(listener)
}

/// Listens until the store is dropped, reconnecting after every loss.
/// After each (re)connection every cached flag is distrusted (a new
/// epoch): changes of the gap were not heard.
pub(crate) async fn listen<P>(task: Listening<P>)
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    loop {
        let mut listener = match connect(task.pg.pool(), &task.channel).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::debug!(%error, "notification listener cannot connect");
                task.fresh.down();
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        };
        let Some(cache) = task.cache.upgrade() else {
            return;
        };
        cache.bump_epoch();
        drop(cache);
        task.fresh.connected();
        // A first heartbeat right away rather than at the next tick.
        let _ = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&task.channel)
            .bind(task.fresh.now_tick().to_string())
            .execute(task.pg.pool())
            .await;
        loop {
            let notification = match listener.try_recv().await {
                Ok(Some(notification)) => notification,
                Ok(None) | Err(_) => break,
            };
            if notification.channel() == task.channel {
                if let Ok(tick) = notification.payload().parse::<u64>() {
                    task.fresh.heard(tick);
                }
                continue;
            }
            let Ok(change) = serde_json::from_str::<PgChange>(notification.payload()) else {
                continue;
            };
            let Some(cache) = task.cache.upgrade() else {
                return;
            };
            if let PgChange::Appended { tenant_id, .. } = &change {
                if let Some(answers) = task.answers.upgrade() {
                    answers.appended(*tenant_id);
                }
            }
            apply(&task.pg, &cache, change).await;
        }
        tracing::warn!("notification listener lost its connection; reconnecting");
        task.fresh.down();
    }
}

/// Applies one committed change to the cached flags (appends outdate
/// remembered answers, in the caller). Chain state and signals are read
/// from PostgreSQL, so their notifications need nothing here.
async fn apply<P>(pg: &PgDag<P>, cache: &HotCache, change: PgChange)
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    match change {
        PgChange::Acknowledged { event_id, .. } => {
            cache.set_flags(event_id, EventFlags::ACKNOWLEDGED);
        }
        PgChange::Signalled {
            tenant_id,
            sequence,
            signal,
            ..
        } if signal == "compensation_complete" => {
            // The notification does not name the compensated event: read
            // the signal. Failing that, distrust every cached flag.
            match pg
                .signals_after(tenant_id, sequence.saturating_sub(1), 1)
                .await
            {
                Effect::Ok(records) => {
                    for record in records {
                        if let UpstreamSignal::CompensationComplete { event_id } = record.signal {
                            cache.set_flags(event_id, EventFlags::COMPENSATED);
                        }
                    }
                }
                _ => cache.bump_epoch(),
            }
        }
        PgChange::Resync => cache.bump_epoch(),
        _ => {}
    }
}

/// Sends this node's heartbeat every `interval` until the store is
/// dropped. A heartbeat that cannot be sent is simply missed: freshness
/// then lapses by itself.
pub(crate) async fn heartbeat(
    pool: PgPool,
    channel: String,
    fresh: Weak<Freshness>,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(tick) = fresh.upgrade().map(|fresh| fresh.now_tick()) else {
            return;
        };
        let send = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&channel)
            .bind(tick.to_string())
            .execute(&pool);
        let _ = tokio::time::timeout(interval.saturating_mul(4), send).await;
    }
}

/// Keeps the cache within its hot window until the store is dropped.
pub(crate) async fn evict(
    cache: Weak<HotCache>,
    max_bytes: u64,
    max_age: Duration,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(cache) = cache.upgrade() else {
            return;
        };
        cache.evict(max_bytes, max_age);
    }
}
