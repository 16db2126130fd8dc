//! The durable change log (migration 0004, SPEC §5): every append, every
//! flag change and every act of forgetting (migration 0005) writes a row
//! in its own transaction, and readers on any node follow the log by
//! position. `NOTIFY` is only a wake-up.
//!
//! A position is a transaction id. Ids are handed out in start order,
//! not commit order, so a reader only ever reads below the oldest
//! transaction still running when its statement began
//! (`pg_snapshot_xmin`): every transaction below it has ended, so no row
//! can appear there later. "Everything below `p` is read" is therefore an
//! exact position: nothing is skipped or read twice, and writers share no
//! counter (a commit-ordered sequence would make every writer wait for
//! the one before it to commit).
//!
//! The price: a transaction that stays open holds every reader back. A
//! reader can tell (its [`ChangePage::complete_below`] stops moving) and
//! `eventdag-tiered` then stops trusting its cache rather than serve it
//! stale.

use std::time::Duration;

use eventdag::{now_micros, Effect, ErrorEffect, EventFlags, EventId, TenantId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::codec::{db_u64, model_u64, sql_limit};
use crate::PgDag;

/// The most rows one [`PgDag::changes_after`] returns.
pub const MAX_CHANGES_PER_PAGE: usize = 10_000;

/// A change as the log holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedChange {
    /// A write appended to the tenant's log; `last_cursor` is the
    /// tenant's last event cursor after it.
    Appended {
        /// The tenant.
        tenant_id: TenantId,
        /// Its last event cursor after the write.
        last_cursor: u64,
    },
    /// Flags were added to an event (ACKNOWLEDGED, COMPENSATED).
    FlagsAdded {
        /// The event's tenant.
        tenant_id: TenantId,
        /// The event.
        event_id: EventId,
        /// The flags added.
        flags: EventFlags,
    },
    /// An event's payload was removed ([`eventdag::Forgetting::redact`]):
    /// a cached copy must go.
    Redacted {
        /// The event's tenant.
        tenant_id: TenantId,
        /// The event.
        event_id: EventId,
    },
    /// An event was removed with its correlation chain
    /// ([`eventdag::Forgetting::remove_chain`]); one row per event.
    Removed {
        /// The event's tenant.
        tenant_id: TenantId,
        /// The event.
        event_id: EventId,
    },
    /// A tenant was erased ([`eventdag::Forgetting::erase_tenant`]). The
    /// log does not say which (that would keep the erased id): a reader
    /// must drop everything it derived from the log.
    TenantErased,
}

/// One read of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    /// The changes read, in position order (several may share one).
    pub changes: Vec<LoggedChange>,
    /// Where the next read starts: pass it to the next
    /// [`PgDag::changes_after`]. Rows at exactly this position may be
    /// read again when the page was full (applying a change twice must
    /// be harmless, as setting a flag is).
    pub next: u64,
    /// Every change below this position has been read, by this page or
    /// the ones before it (equal to `next` unless the page was full).
    pub complete_below: u64,
    /// The first transaction id not yet handed out when this read began:
    /// once a later page's `complete_below` reaches it, every change
    /// committed before this read began has been read.
    pub next_transaction: u64,
    /// Rows below this position may have been pruned: a reader that was
    /// below it has missed changes ([`ChangePage::missed`]).
    pub pruned_below: u64,
    /// The reader's position was below `pruned_below`: some changes after
    /// it are gone. The page starts at `pruned_below` instead; whatever
    /// the reader derived from the log before must be distrusted.
    pub missed: bool,
}

type PageRow = (
    i64,
    i64,
    i64,
    Option<i64>,
    Option<Uuid>,
    Option<i16>,
    Option<Uuid>,
    Option<i16>,
    Option<i64>,
);

/// The snapshot's horizon, the next id, the prune horizon, and up to `$2`
/// rows from `$1` below the horizon; one row of nulls when there are
/// none. One statement, so the rows and the horizon share a snapshot.
const PAGE: &str = "\
WITH s AS (SELECT pg_current_snapshot() AS snap) \
SELECT pg_snapshot_xmin(s.snap)::text::int8, pg_snapshot_xmax(s.snap)::text::int8, \
       h.pruned_below, c.position, c.tenant_id, c.change, c.event_id, c.flags, c.log_cursor \
FROM s CROSS JOIN eventdag_change_horizon h \
LEFT JOIN LATERAL ( \
  SELECT * FROM eventdag_changes c \
  WHERE c.position >= greatest($1, h.pruned_below) \
    AND c.position < pg_snapshot_xmin(s.snap)::text::int8 \
  ORDER BY c.position LIMIT $2 \
) c ON true";

/// The horizon of a snapshot taken now.
const HEAD: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::int8";

/// Deletes rows older than `$1` (µs) that lie below every running
/// transaction, and raises the prune horizon past them.
const PRUNE: &str = "\
WITH s AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::int8 AS below), \
gone AS ( \
  DELETE FROM eventdag_changes c USING s WHERE c.position < s.below AND c.at < $1 \
  RETURNING c.position \
), moved AS ( \
  UPDATE eventdag_change_horizon \
  SET pruned_below = greatest(pruned_below, (SELECT max(position) + 1 FROM gone)) \
  WHERE EXISTS (SELECT 1 FROM gone) \
) \
SELECT count(*) FROM gone";

fn as_position(field: &str, value: i64) -> Result<u64, ErrorEffect> {
    model_u64(None, field, value)
}

fn change_of(row: &PageRow) -> Result<Option<LoggedChange>, ErrorEffect> {
    let (_, _, _, position, tenant, change, event, flags, cursor) = *row;
    let (Some(_), Some(tenant_id), Some(change)) = (position, tenant, change) else {
        return Ok(None);
    };
    let corrupt = |what: &str| {
        ErrorEffect::corrupt(
            event,
            format!("change-log row of kind {change} has no valid {what}"),
        )
    };
    match change {
        1 => Ok(Some(LoggedChange::Appended {
            tenant_id,
            last_cursor: position_of(cursor).ok_or_else(|| corrupt("log cursor"))?,
        })),
        2 => {
            let event_id = event.ok_or_else(|| corrupt("event id"))?;
            let bits = flags
                .and_then(|bits| u8::try_from(bits).ok())
                .ok_or_else(|| corrupt("flags"))?;
            Ok(Some(LoggedChange::FlagsAdded {
                tenant_id,
                event_id,
                flags: EventFlags::from_bits_retain(bits),
            }))
        }
        3 => Ok(Some(LoggedChange::Redacted {
            tenant_id,
            event_id: event.ok_or_else(|| corrupt("event id"))?,
        })),
        4 => Ok(Some(LoggedChange::Removed {
            tenant_id,
            event_id: event.ok_or_else(|| corrupt("event id"))?,
        })),
        5 => Ok(Some(LoggedChange::TenantErased)),
        _ => Err(corrupt("kind")),
    }
}

fn position_of(value: Option<i64>) -> Option<u64> {
    value.and_then(|value| u64::try_from(value).ok())
}

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Reads the change log from `position`, at most `limit` rows
    /// (capped at [`MAX_CHANGES_PER_PAGE`]). One statement. Start from
    /// [`PgDag::change_log_head`]; a position below the prune horizon
    /// (0, say, once anything was pruned) reads from the oldest row kept
    /// and reports [`ChangePage::missed`].
    pub async fn changes_after(&self, position: u64, limit: usize) -> Effect<ChangePage> {
        let read = async {
            let limit = limit.clamp(1, MAX_CHANGES_PER_PAGE);
            let rows: Vec<PageRow> = sqlx::query_as(PAGE)
                .bind(db_u64("position", position)?)
                .bind(sql_limit(limit))
                .fetch_all(&self.inner.pool)
                .await
                .map_err(|error| self.sql("changes_after", &error))?;
            let Some(first) = rows.first() else {
                return Err(ErrorEffect::corrupt(
                    None,
                    "eventdag_change_horizon has no row (migration 0004 inserts it)",
                ));
            };
            let horizon = as_position("xmin", first.0)?;
            let next_transaction = as_position("xmax", first.1)?;
            let pruned_below = as_position("pruned_below", first.2)?;
            let missed = position < pruned_below;
            let start = position.max(pruned_below);
            let mut changes = Vec::with_capacity(rows.len());
            let mut last = None;
            for row in &rows {
                if let Some(change) = change_of(row)? {
                    changes.push(change);
                    last = position_of(row.3);
                }
            }
            // A full page may have stopped inside one position: read it
            // again next time rather than skip its rest.
            let complete_below = match last {
                Some(last) if changes.len() >= limit => last,
                _ => horizon.max(start),
            };
            Ok(ChangePage {
                changes,
                next: complete_below,
                complete_below,
                next_transaction,
                pruned_below,
                missed,
            })
        };
        self.bounded("changes_after", read).await.into()
    }

    /// Where a reader starts to see only what commits from now on: every
    /// transaction below it has ended (changes at or above it that
    /// committed already are read again, which is harmless).
    pub async fn change_log_head(&self) -> Effect<u64> {
        let read = async {
            let (head,): (i64,) = sqlx::query_as(HEAD)
                .fetch_one(&self.inner.pool)
                .await
                .map_err(|error| self.sql("change_log_head", &error))?;
            as_position("xmin", head)
        };
        self.bounded("change_log_head", read).await.into()
    }

    /// Deletes change-log rows older than `older_than` that no reader can
    /// still be waiting for (below every running transaction), and moves
    /// the prune horizon past them; how many went. Readers that were
    /// behind are told by [`ChangePage::missed`].
    pub async fn prune_changes(&self, older_than: Duration) -> Effect<u64> {
        let prune = async {
            let age = u64::try_from(older_than.as_micros()).unwrap_or(u64::MAX);
            let cut = db_u64("cutoff", now_micros().saturating_sub(age))?;
            let (gone,): (i64,) = sqlx::query_as(PRUNE)
                .bind(cut)
                .fetch_one(&self.inner.pool)
                .await
                .map_err(|error| self.sql("prune_changes", &error))?;
            Ok(u64::try_from(gone).unwrap_or(0))
        };
        self.bounded("prune_changes", prune).await.into()
    }
}
