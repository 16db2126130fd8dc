//! Work queues on PostgreSQL (SPEC §9), shared by every node: queue state
//! in `eventdag_queue` (migration 0003), leases judged by the server's
//! clock. Each write is one transaction: lock the event rows (claims with
//! `SKIP LOCKED`, so competing claims pass each other by instead of
//! queueing), read their queue rows and the clock, run the core's flow
//! over what was read ([`planner`]), store what it decided.
//!
//! Lock order, the same as acknowledgments and signals: event rows first
//! (`FOR NO KEY UPDATE`, which appends of children do not wait for), then
//! queue rows. Every writer of a queue row holds its event's row, so the
//! rows a claim reads after locking cannot change before it commits.
//!
//! A leased acknowledgment is the signal flow's transaction
//! (`signals::run_call`) with [`PgDag::acknowledge_in`] in it.

mod planner;
mod sql;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use eventdag::backend::queue::{self as flow, dead_letter_signal, Waiting};
use eventdag::backend::{capped, SignalTarget, SignalTxn};
use eventdag::{
    AckLease, ClaimRequest, Claimed, DeadLetter, Effect, ErrorEffect, Event, EventFlags, EventId,
    EventKind, Lease, LeaseRef, QueueEntry, TenantId, WorkQueue, MAX_CLAIM,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::codec::{db_u32, db_u64, model_u64, sql_limit, EventRow};
use crate::sql_error::nothing_written;
use crate::PgDag;
pub(crate) use planner::{QueuePlanner, WithQueue};

/// Spent events (delivered `max_attempts` times) one claim dead-letters
/// at most, besides the events it hands out.
const SPENT_PER_CLAIM: usize = 100;

type EntryRow = (
    Uuid,
    i64,
    Option<Uuid>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);

/// The clock and a queue row, or nulls (`sql::ENTRIES_AT_CLOCK`).
type ClockedRow = (
    i64,
    Option<Uuid>,
    Option<i64>,
    Option<Uuid>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

type Tx = Transaction<'static, Postgres>;

fn u32_of(event_id: EventId, field: &str, value: i64) -> Result<u32, ErrorEffect> {
    u32::try_from(value).map_err(|_| {
        ErrorEffect::corrupt(
            Some(event_id),
            format!("stored {field} {value} is out of range"),
        )
    })
}

fn entry_of(tenant_id: TenantId, row: EntryRow) -> Result<(EventId, QueueEntry), ErrorEffect> {
    let (id, attempts, token, consumer, until, last_consumer, available_at, dead_at) = row;
    let lease = match (token, consumer, until) {
        (Some(token), Some(consumer), Some(until)) => Some(Lease {
            token,
            consumer,
            deadline: model_u64(Some(id), "lease_until", until)?,
        }),
        _ => None,
    };
    Ok((
        id,
        QueueEntry {
            tenant_id,
            attempts: u32_of(id, "attempts", attempts)?,
            lease,
            last_consumer,
            available_at: model_u64(Some(id), "available_at", available_at)?,
            dead_lettered_at: dead_at
                .map(|at| model_u64(Some(id), "dead_at", at))
                .transpose()?,
        },
    ))
}

/// The columns of `sql::UPSERT` for the rows to store.
#[derive(Default)]
struct UpsertColumns {
    ids: Vec<Uuid>,
    attempts: Vec<i64>,
    tokens: Vec<Option<Uuid>>,
    consumers: Vec<Option<String>>,
    untils: Vec<Option<i64>>,
    last_consumers: Vec<Option<String>>,
    available: Vec<i64>,
    dead: Vec<Option<i64>>,
}

impl UpsertColumns {
    fn push(&mut self, id: EventId, entry: &QueueEntry) -> Result<(), ErrorEffect> {
        self.ids.push(id);
        self.attempts.push(db_u32(entry.attempts));
        self.tokens
            .push(entry.lease.as_ref().map(|lease| lease.token));
        self.consumers
            .push(entry.lease.as_ref().map(|lease| lease.consumer.clone()));
        self.untils.push(
            entry
                .lease
                .as_ref()
                .map(|lease| db_u64("lease_until", lease.deadline))
                .transpose()?,
        );
        self.last_consumers.push(entry.last_consumer.clone());
        self.available
            .push(db_u64("available_at", entry.available_at)?);
        self.dead.push(
            entry
                .dead_lettered_at
                .map(|at| db_u64("dead_at", at))
                .transpose()?,
        );
        Ok(())
    }
}

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn queue_sql(&self, operation: &str) -> impl Fn(sqlx::Error) -> ErrorEffect + '_ {
        let operation = operation.to_owned();
        move |error| nothing_written(self.sql(&operation, &error))
    }

    /// The queue rows of `ids` and the server's clock, µs (one round
    /// trip).
    async fn entries_at_clock(
        &self,
        tx: &mut Tx,
        operation: &str,
        tenant_id: TenantId,
        ids: &[EventId],
    ) -> Result<(HashMap<EventId, QueueEntry>, u64), ErrorEffect> {
        let rows: Vec<ClockedRow> = sqlx::query_as(sql::ENTRIES_AT_CLOCK)
            .bind(tenant_id)
            .bind(ids)
            .fetch_all(&mut **tx)
            .await
            .map_err(self.queue_sql(operation))?;
        let now = rows
            .first()
            .map_or(Ok(0), |row| model_u64(None, "clock", row.0))?;
        let mut entries = HashMap::with_capacity(rows.len());
        for (_, id, attempts, token, consumer, until, last, available, dead) in rows {
            // The NOT NULL columns are null only in the no-row row.
            if let (Some(id), Some(attempts), Some(available)) = (id, attempts, available) {
                let row = (id, attempts, token, consumer, until, last, available, dead);
                let (id, entry) = entry_of(tenant_id, row)?;
                entries.insert(id, entry);
            }
        }
        Ok((entries, now))
    }

    /// Stores the rows a flow decided: upserts, then deletes.
    async fn store_queue_writes(
        &self,
        tx: &mut Tx,
        operation: &str,
        tenant_id: TenantId,
        writes: &[(EventId, Option<QueueEntry>)],
    ) -> Result<(), ErrorEffect> {
        let mut upsert = UpsertColumns::default();
        let mut deletes = Vec::new();
        for (id, entry) in writes {
            match entry {
                Some(entry) => upsert.push(*id, entry)?,
                None => deletes.push(*id),
            }
        }
        if !upsert.ids.is_empty() {
            sqlx::query(sql::UPSERT)
                .bind(tenant_id)
                .bind(&upsert.ids)
                .bind(&upsert.attempts)
                .bind(&upsert.tokens)
                .bind(&upsert.consumers)
                .bind(&upsert.untils)
                .bind(&upsert.last_consumers)
                .bind(&upsert.available)
                .bind(&upsert.dead)
                .execute(&mut **tx)
                .await
                .map_err(self.queue_sql(operation))?;
        }
        if !deletes.is_empty() {
            self.delete_queue_rows(tx, operation, tenant_id, &deletes)
                .await?;
        }
        Ok(())
    }

    /// Deletes queue rows (acknowledged or requeued events).
    pub(crate) async fn delete_queue_rows(
        &self,
        tx: &mut Tx,
        operation: &str,
        tenant_id: TenantId,
        ids: &[EventId],
    ) -> Result<(), ErrorEffect> {
        sqlx::query(sql::DELETE)
            .bind(tenant_id)
            .bind(ids)
            .execute(&mut **tx)
            .await
            .map_err(self.queue_sql(operation))?;
        Ok(())
    }

    /// Events of a tenant in the order of `ids`.
    async fn events_by_id<'e, E>(
        &self,
        executor: E,
        operation: &str,
        tenant_id: TenantId,
        ids: &[EventId],
    ) -> Result<Vec<Event<P>>, ErrorEffect>
    where
        E: sqlx::Executor<'e, Database = Postgres>,
    {
        let rows: Vec<EventRow> = sqlx::query_as(&sql::EVENTS)
            .bind(tenant_id)
            .bind(ids)
            .fetch_all(executor)
            .await
            .map_err(|error| self.sql(operation, &error))?;
        let mut by_id: HashMap<EventId, Event<P>> = HashMap::with_capacity(rows.len());
        for row in rows {
            let event = row.into_event()?;
            by_id.insert(event.id(), event);
        }
        ids.iter()
            .map(|id| {
                by_id.remove(id).ok_or_else(|| {
                    ErrorEffect::corrupt(Some(*id), "a queue row names an event that is not stored")
                })
            })
            .collect()
    }

    /// Commits a queue write; a failed COMMIT leaves the outcome unknown.
    async fn commit_queue(
        &self,
        tx: Tx,
        operation: &str,
        event_id: EventId,
    ) -> Result<(), ErrorEffect> {
        tx.commit().await.map_err(|error| ErrorEffect::OutcomeUnknown {
            operation: operation.to_owned(),
            event_id,
            message: format!(
                "the COMMIT failed ({error}) while PostgreSQL committed the {operation} of event {event_id}; read its queue state (GET /v1/queue/events/{event_id}) to find out"
            ),
        })
    }

    async fn candidates(
        &self,
        tx: &mut Tx,
        request: &ClaimRequest,
        deliverable: bool,
        limit: usize,
    ) -> Result<Vec<Waiting>, ErrorEffect> {
        let rows: Vec<(Uuid, i64, i32, Uuid)> = sqlx::query_as(sql::CANDIDATES)
            .bind(request.tenant_id)
            .bind(request.kind.map(|kind| i32::from(kind.0)))
            .bind(request.correlation_id)
            .bind(db_u32(request.max_attempts))
            .bind(deliverable)
            .bind(sql_limit(limit))
            .fetch_all(&mut **tx)
            .await
            .map_err(self.queue_sql("claim"))?;
        rows.into_iter()
            .map(|(event_id, ts, kind, correlation_id)| {
                Ok(Waiting {
                    event_id,
                    timestamp: model_u64(Some(event_id), "ts", ts)?,
                    kind: EventKind(u16::try_from(kind).map_err(|_| {
                        ErrorEffect::corrupt(
                            Some(event_id),
                            format!("stored kind {kind} is out of range"),
                        )
                    })?),
                    correlation_id,
                })
            })
            .collect()
    }

    /// One claim transaction. Returns the claimed events and the events
    /// dead-lettered on the way (with their attempts).
    async fn claim_tx(
        &self,
        request: &ClaimRequest,
    ) -> Result<(Vec<Claimed<P>>, Vec<(EventId, u32)>), ErrorEffect> {
        request.validate()?;
        let limit = request.limit.min(MAX_CLAIM);
        if limit == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut tx = self
            .inner
            .pool
            .begin()
            .await
            .map_err(self.queue_sql("claim"))?;
        let mut waiting = self.candidates(&mut tx, request, true, limit).await?;
        waiting.extend(
            self.candidates(&mut tx, request, false, SPENT_PER_CLAIM)
                .await?,
        );
        if waiting.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        waiting.sort_by_key(|w| (w.timestamp, w.event_id));
        let ids: Vec<EventId> = waiting.iter().map(|w| w.event_id).collect();
        let (entries, now) = self
            .entries_at_clock(&mut tx, "claim", request.tenant_id, &ids)
            .await?;
        let mut planner = QueuePlanner {
            waiting,
            entries,
            ..QueuePlanner::default()
        };
        // The dead letters' signals go after the commit (this
        // transaction holds no tenant log lock to take a sequence under).
        let quiet = ClaimRequest {
            signal_dead_letters: false,
            ..request.clone()
        };
        let leased = flow::claim(&mut planner, &quiet, now)?;
        if planner.writes.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        self.store_queue_writes(&mut tx, "claim", request.tenant_id, &planner.writes)
            .await?;
        let leased_ids: Vec<EventId> = leased.iter().map(|l| l.event_id).collect();
        let events = self
            .events_by_id(&mut *tx, "claim", request.tenant_id, &leased_ids)
            .await?;
        let subject = planner.writes[0].0;
        self.commit_queue(tx, "claim", subject).await?;
        let dead = planner
            .writes
            .iter()
            .filter_map(|(id, entry)| {
                entry
                    .as_ref()
                    .filter(|entry| entry.dead_lettered_at == Some(now))
                    .map(|entry| (*id, entry.attempts))
            })
            .collect();
        let claimed = events
            .into_iter()
            .zip(leased)
            .map(|(event, leased)| Claimed {
                event,
                attempt: leased.attempt,
                lease: leased.lease,
            })
            .collect();
        Ok((claimed, dead))
    }

    /// One single-event queue write: lock the event, read its row and the
    /// clock, run `decide`, store.
    async fn single_tx<T>(
        &self,
        operation: &str,
        event_id: EventId,
        decide: impl FnOnce(&mut QueuePlanner, u64) -> Result<T, ErrorEffect>,
    ) -> Result<T, ErrorEffect> {
        let mut tx = self
            .inner
            .pool
            .begin()
            .await
            .map_err(self.queue_sql(operation))?;
        let mut planner = QueuePlanner::default();
        let target: Option<(Uuid, Uuid, i16)> = sqlx::query_as(sql::TARGET)
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(self.queue_sql(operation))?;
        let tenant = match target {
            Some((tenant_id, correlation_id, flags)) => {
                let flags = u8::try_from(flags).map_err(|_| {
                    ErrorEffect::corrupt(
                        Some(event_id),
                        format!("stored flags {flags} are out of range"),
                    )
                })?;
                planner.targets.insert(
                    event_id,
                    SignalTarget {
                        tenant_id,
                        correlation_id,
                        flags: EventFlags::from_bits_retain(flags),
                    },
                );
                let (entries, now) = self
                    .entries_at_clock(&mut tx, operation, tenant_id, &[event_id])
                    .await?;
                planner.entries = entries;
                Some((tenant_id, now))
            }
            // Not found: the flow says so before it looks at the time.
            None => None,
        };
        let now = tenant.map_or(0, |(_, now)| now);
        let tenant = tenant.map(|(tenant, _)| tenant);
        let answer = decide(&mut planner, now)?;
        if let (Some(tenant), false) = (tenant, planner.writes.is_empty()) {
            self.store_queue_writes(&mut tx, operation, tenant, &planner.writes)
                .await?;
            self.commit_queue(tx, operation, event_id).await?;
        }
        Ok(answer)
    }

    /// Inside the acknowledgment transaction (`signals::run_call`): the
    /// lease check, then the one acknowledgment flow, over the signal
    /// planner and the event's queue row. Returns whether the event was
    /// newly acknowledged, in which case the caller deletes its queue row
    /// in the same transaction ([`PgDag::delete_queue_rows`]).
    ///
    /// A forced acknowledgment (the SPEC §1 one) reads no queue row and
    /// no clock: it costs one `DELETE` more than before the queues.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn acknowledge_in<T: SignalTxn<Error = ErrorEffect>>(
        &self,
        tx: &mut Tx,
        signals: &mut T,
        tenant_id: Option<TenantId>,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
        now: u64,
    ) -> Result<bool, ErrorEffect> {
        let mut queue = QueuePlanner::default();
        let mut now = now;
        if let (AckLease::Token(_), Some(target)) = (lease, signals.target(event_id)?) {
            // Leases are judged by the server's clock.
            (queue.entries, now) = self
                .entries_at_clock(tx, "acknowledge", target.tenant_id, &[event_id])
                .await?;
        }
        let mut txn = WithQueue { signals, queue };
        let acknowledged =
            flow::acknowledge_leased(&mut txn, tenant_id, event_id, lease, send_upstream, now)?;
        Ok(acknowledged.newly)
    }

    async fn signal_dead_letters(&self, dead: Vec<(EventId, u32)>) {
        for (event_id, attempts) in dead {
            // The claim committed; a failed signal is reported, not
            // undone (docs/queues.md, "Dead letters on PostgreSQL").
            if let Err(error) = self
                .signal(event_id, dead_letter_signal(event_id, attempts))
                .await
            {
                tracing::warn!(%event_id, %error, "dead letter's ErrorPropagation signal was not stored");
            }
        }
    }
}

fn into_effect<T>(result: Result<T, ErrorEffect>) -> Effect<T> {
    result.into()
}

#[async_trait]
impl<P> WorkQueue for PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn claim(&self, request: ClaimRequest) -> Effect<Vec<Claimed<P>>> {
        let claimed = self.bounded("claim", self.claim_tx(&request)).await;
        match claimed {
            Ok((claimed, dead)) => {
                if request.signal_dead_letters {
                    self.signal_dead_letters(dead).await;
                }
                Effect::Ok(claimed)
            }
            Err(error) => Effect::Err(error),
        }
    }

    async fn extend_lease(&self, lease: LeaseRef, duration: Duration) -> Effect<Lease> {
        into_effect(
            self.bounded(
                "extend_lease",
                self.single_tx("extend_lease", lease.event_id, |txn, now| {
                    flow::extend(txn, lease, duration, now)
                }),
            )
            .await,
        )
    }

    async fn release_lease(&self, lease: LeaseRef, delay: Duration) -> Effect<()> {
        into_effect(
            self.bounded(
                "release_lease",
                self.single_tx("release_lease", lease.event_id, |txn, now| {
                    flow::release(txn, lease, delay, now)
                }),
            )
            .await,
        )
    }

    async fn acknowledge_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Effect<()> {
        self.ack_leased(tenant_id, event_id, lease, send_upstream)
            .await
            .into()
    }

    async fn dead_letters(
        &self,
        tenant_id: TenantId,
        after: Option<EventId>,
        limit: usize,
    ) -> Effect<Vec<DeadLetter<P>>> {
        let limit = capped(limit);
        let listing = async {
            if limit == 0 {
                return Ok(Vec::new());
            }
            let rows: Vec<EntryRow> = sqlx::query_as(sql::DEAD)
                .bind(tenant_id)
                .bind(after)
                .bind(sql_limit(limit))
                .fetch_all(&self.inner.pool)
                .await
                .map_err(|error| self.sql("dead_letters", &error))?;
            let entries = rows
                .into_iter()
                .map(|row| entry_of(tenant_id, row))
                .collect::<Result<Vec<_>, _>>()?;
            let ids: Vec<EventId> = entries.iter().map(|(id, _)| *id).collect();
            let events = self
                .events_by_id(&self.inner.pool, "dead_letters", tenant_id, &ids)
                .await?;
            Ok(events
                .into_iter()
                .zip(entries)
                .map(|(event, (_, entry))| DeadLetter {
                    event,
                    attempts: entry.attempts,
                    dead_lettered_at: entry.dead_lettered_at.unwrap_or_default(),
                    last_consumer: entry.last_consumer,
                })
                .collect())
        };
        into_effect(self.bounded("dead_letters", listing).await)
    }

    async fn requeue(&self, tenant_id: TenantId, event_id: EventId) -> Effect<()> {
        into_effect(
            self.bounded(
                "requeue",
                self.single_tx("requeue", event_id, |txn, _now| {
                    flow::requeue(txn, tenant_id, event_id)
                }),
            )
            .await,
        )
    }

    async fn queue_entry(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
    ) -> Effect<Option<QueueEntry>> {
        let lookup = async {
            let tenant: Option<(Uuid,)> = sqlx::query_as(sql::TENANT_OF)
                .bind(event_id)
                .fetch_optional(&self.inner.pool)
                .await
                .map_err(|error| self.sql("queue_entry", &error))?;
            if tenant.map(|(tenant,)| tenant) != Some(tenant_id) {
                return Err(ErrorEffect::NotFound { event_id });
            }
            let rows: Vec<EntryRow> = sqlx::query_as(sql::ENTRIES)
                .bind(tenant_id)
                .bind(&[event_id][..])
                .fetch_all(&self.inner.pool)
                .await
                .map_err(|error| self.sql("queue_entry", &error))?;
            rows.into_iter()
                .next()
                .map(|row| entry_of(tenant_id, row).map(|(_, entry)| entry))
                .transpose()
        };
        into_effect(self.bounded("queue_entry", lookup).await)
    }
}
