//! The background tasks of a node: the follower of PostgreSQL's durable
//! change log that keeps cached flags current, drops what was forgotten
//! (redacted, removed, erased) and proves it (see `freshness.rs`), the `LISTEN` connection that only wakes the follower
//! early, and the evictor. Each holds the cache weakly and ends when the
//! store is dropped (which also aborts it).

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use eventdag::Effect;
use eventdag_postgres::{LoggedChange, PgDag, CHANNEL, MAX_CHANGES_PER_PAGE};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use crate::answers::Answers;
use crate::cache::HotCache;
use crate::freshness::Freshness;

/// Pause between attempts to re-establish a lost `LISTEN` connection.
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);

/// Reads of the log not yet proven complete that the follower remembers
/// (a long transaction elsewhere holds the log's horizon back meanwhile);
/// the oldest are forgotten first, which only delays freshness.
const MAX_PENDING_READS: usize = 1_024;

/// How often a node prunes the change log.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What the follower needs.
pub(crate) struct Following<P> {
    pub(crate) pg: PgDag<P>,
    pub(crate) cache: Weak<HotCache>,
    pub(crate) fresh: Arc<Freshness>,
    pub(crate) answers: Weak<Answers>,
    /// Reads the log this often without a wake-up.
    pub(crate) interval: Duration,
    /// Rung by the listener when a change was announced.
    pub(crate) wake: Arc<Notify>,
    /// Change-log rows older than this are pruned.
    pub(crate) retention: Duration,
}

/// Follows the change log until the store is dropped.
///
/// Freshness: each read notes the tick before it was sent and the first
/// transaction id not yet handed out then (`next_transaction`). Once a
/// later read has everything below that id, every change committed
/// before the tick is applied, and the tick is reported to
/// [`Freshness::heard`]. A transaction left open elsewhere holds the
/// proof back; cached flags then lapse to PostgreSQL reads after the
/// bound instead of being served stale. A read that fails marks
/// PostgreSQL down (degraded mode); the position is kept, so nothing is
/// missed when it returns — unless the rows were pruned meanwhile, which
/// the page reports and which distrusts every cached flag (a new epoch).
pub(crate) async fn follow<P>(task: Following<P>)
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    let mut position: Option<u64> = None;
    let mut saved: Option<u64> = None;
    if let Some(cache) = task.cache.upgrade() {
        // Go on from where the previous run stopped, so that what was
        // forgotten while this node was down is applied to what it cached
        // (flags are distrusted anyway: the open moved the epoch).
        position = cache.stored_position();
        saved = position;
    }
    let mut pending: VecDeque<(u64, u64)> = VecDeque::new();
    let mut pruned_at = Instant::now();
    loop {
        let tick = task.fresh.now_tick();
        let start = match position {
            Some(position) => position,
            None => match task.pg.change_log_head().await {
                // Start at the head: what came before is distrusted by a
                // new epoch instead of replayed. Entries a run cached
                // without recording its position are wiped: what was
                // forgotten since cannot be known.
                Effect::Ok(head) => {
                    let Some(cache) = task.cache.upgrade() else {
                        return;
                    };
                    if cache.stats().0 > 0 {
                        cache.wipe();
                    }
                    cache.bump_epoch();
                    position = Some(head);
                    continue;
                }
                _ => {
                    task.fresh.down();
                    if !nap(&task).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let page = match task.pg.changes_after(start, MAX_CHANGES_PER_PAGE).await {
            Effect::Ok(page) => page,
            _ => {
                task.fresh.down();
                if !nap(&task).await {
                    return;
                }
                continue;
            }
        };
        let (Some(cache), Some(answers)) = (task.cache.upgrade(), task.answers.upgrade()) else {
            return;
        };
        if start > page.next_transaction {
            // A stored position no transaction of this server has reached:
            // the cache was written against another server (or a restored
            // one). Nothing it holds can be vouched for.
            tracing::warn!(
                position = start,
                next_transaction = page.next_transaction,
                "the cache's change-log position is ahead of this server; wiping the cache"
            );
            cache.wipe();
            cache.bump_epoch();
            position = None;
            saved = None;
            continue;
        }
        if page.missed {
            tracing::warn!(
                position = start,
                pruned_below = page.pruned_below,
                "the change log was pruned past this node's position; wiping the cache (a \
                 redaction or removal may have been missed) and distrusting every flag"
            );
            cache.wipe();
            cache.bump_epoch();
        }
        apply(&page.changes, &cache, &answers);
        if saved != Some(page.next) {
            cache.save_position(page.next);
            saved = Some(page.next);
        }
        drop((cache, answers));
        position = Some(page.next);
        if pending.len() >= MAX_PENDING_READS {
            pending.pop_front();
        }
        pending.push_back((page.next_transaction, tick));
        let mut proven = None;
        while let Some(&(next_transaction, tick)) = pending.front() {
            if next_transaction > page.complete_below {
                break;
            }
            proven = Some(tick);
            pending.pop_front();
        }
        task.fresh.connected();
        if let Some(tick) = proven {
            task.fresh.heard(tick);
        }
        if pruned_at.elapsed() >= PRUNE_EVERY {
            pruned_at = Instant::now();
            if let Effect::Err(error) = task.pg.prune_changes(task.retention).await {
                tracing::debug!(%error, "change log not pruned this time");
            }
        }
        // A full page: read on at once.
        if page.changes.len() < MAX_CHANGES_PER_PAGE && !nap(&task).await {
            return;
        }
    }
}

/// Applies one page of changes to the cache: flags set, remembered
/// answers of tenants that appended or lost events outdated, redacted
/// and removed events' entries dropped, everything dropped when a tenant
/// was erased (the log does not say which one).
fn apply(changes: &[LoggedChange], cache: &HotCache, answers: &Answers) {
    let mut forgotten = Vec::new();
    let mut erased = false;
    for change in changes {
        match *change {
            LoggedChange::FlagsAdded {
                event_id, flags, ..
            } => cache.set_flags(event_id, flags),
            LoggedChange::Appended { tenant_id, .. } => answers.appended(tenant_id),
            LoggedChange::Redacted { event_id, .. } => forgotten.push(event_id),
            LoggedChange::Removed {
                tenant_id,
                event_id,
            } => {
                answers.appended(tenant_id);
                forgotten.push(event_id);
            }
            LoggedChange::TenantErased => erased = true,
        }
    }
    if erased {
        cache.wipe();
        cache.bump_epoch();
    } else {
        cache.forget(&forgotten);
    }
}

/// Waits for the interval or a wake-up; false once the store is gone.
async fn nap<P>(task: &Following<P>) -> bool {
    let _ = tokio::time::timeout(task.interval, task.wake.notified()).await;
    task.cache.strong_count() > 0
}

/// Listens for change notifications until the store is dropped,
/// reconnecting after every loss, and wakes the follower on each. Only a
/// wake-up: a notification that is never sent or never arrives delays the
/// follower by at most its interval and loses nothing.
pub(crate) async fn listen<P>(pg: PgDag<P>, wake: Arc<Notify>, cache: Weak<HotCache>)
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    loop {
        let mut listener = match PgListener::connect_with(pg.pool()).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => listener,
                Err(error) => {
                    tracing::debug!(%error, "notification listener cannot listen");
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
            Err(error) => {
                tracing::debug!(%error, "notification listener cannot connect");
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        };
        while let Ok(Some(_)) = listener.try_recv().await {
            if cache.strong_count() == 0 {
                return;
            }
            wake.notify_one();
        }
        if cache.strong_count() == 0 {
            return;
        }
        tracing::debug!("notification listener lost its connection; reconnecting");
        tokio::time::sleep(RECONNECT_PAUSE).await;
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
