//! Signals and acknowledgments: one transaction in which the core's
//! signal flow runs over what was read before it ([`plan`]), then one
//! statement that stores what it decided ([`sql::STORE`]).
//!
//! Locks, in one order for every writer: the rows of the events named
//! (`FOR NO KEY UPDATE`, which appends of children do not wait for), then
//! the tenant's log row — the row appends take, so that a `Cancel` and an
//! append into the same chain are ordered: the append either committed
//! before the cancel or sees it.

mod plan;
mod sql;

use eventdag::backend::{self, SignalTarget};
use eventdag::{
    now_micros, AckLease, ChainState, ErrorEffect, EventFlags, EventId, TenantId, UpstreamSignal,
    MAX_CHAIN_EVENTS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::codec::{db_u64, model_u64, sql_limit};
use crate::commit::{CommitWatch, Recovery};
use crate::notify::PgChange;
use crate::sql_error::nothing_written;
use crate::PgDag;
use plan::{SignalPlanner, SignalRead, SignalWrites};

/// The write a transaction runs the signal flow for.
enum Call {
    Signal(EventId, UpstreamSignal),
    /// An acknowledgment: the SPEC §1 one is tenant-less and forced; the
    /// work queue's names the caller's tenant and may check a lease.
    Acknowledge(EventId, bool, Option<TenantId>, AckLease),
}

impl Call {
    /// The event the call starts from.
    fn subject(&self) -> EventId {
        match self {
            Call::Signal(from, _) | Call::Acknowledge(from, ..) => *from,
        }
    }
}

type TargetRow = (Uuid, Uuid, Uuid, i16);

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    pub(crate) async fn signal(
        &self,
        from: EventId,
        signal: UpstreamSignal,
    ) -> Result<(), ErrorEffect> {
        let watch = CommitWatch::default();
        let call = self.run_call(Call::Signal(from, signal), &watch);
        self.bounded_write("signal_upstream", &watch, call).await
    }

    pub(crate) async fn ack(
        &self,
        event_id: EventId,
        send_upstream: bool,
    ) -> Result<(), ErrorEffect> {
        let watch = CommitWatch::default();
        let call = Call::Acknowledge(event_id, send_upstream, None, AckLease::Forced);
        let call = self.run_call(call, &watch);
        self.bounded_write("acknowledge", &watch, call).await
    }

    /// An acknowledgment through the work queue (`crate::queue`).
    pub(crate) async fn ack_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Result<(), ErrorEffect> {
        let watch = CommitWatch::default();
        let call = Call::Acknowledge(event_id, send_upstream, Some(tenant_id), lease);
        let call = self.run_call(call, &watch);
        self.bounded_write("acknowledge", &watch, call).await
    }

    /// One signal or acknowledgment transaction. Every failure before
    /// COMMIT wrote nothing; a failure of COMMIT leaves the outcome
    /// unknown (`crate::commit`).
    async fn run_call(&self, call: Call, watch: &CommitWatch) -> Result<(), ErrorEffect> {
        let (operation, recovery) = match call {
            Call::Signal(..) => ("signal_upstream", Recovery::Signal),
            Call::Acknowledge(..) => ("acknowledge", Recovery::Acknowledge),
        };
        let subject = call.subject();
        let sql = |error: sqlx::Error| nothing_written(self.sql(operation, &error));
        let mut tx = self.inner.pool.begin().await.map_err(sql)?;
        let read = self.read_for_signal(&mut tx, &call, operation).await?;
        let mut planner = SignalPlanner {
            read,
            writes: SignalWrites::default(),
        };
        let now = now_micros();
        let mut acknowledged = false;
        match call {
            Call::Signal(from, signal) => {
                backend::signal(&mut planner, from, signal, now)?;
            }
            Call::Acknowledge(id, upstream, tenant, lease) => {
                acknowledged = self
                    .acknowledge_in(&mut tx, &mut planner, tenant, id, lease, upstream, now)
                    .await?;
            }
        }
        let writes = planner.writes;
        if writes.is_empty() {
            // Dropping the transaction rolls back the sequence it took.
            return Ok(());
        }
        // An acknowledgment ends the event's queue state, in the same
        // statement as the flag.
        let dequeued: &[EventId] = if acknowledged { &[subject] } else { &[] };
        self.store_signal_writes(&mut tx, &writes, dequeued, operation)
            .await?;
        self.commit(tx, watch, operation, subject, recovery).await?;
        self.announce(notifications(&writes));
        Ok(())
    }

    /// Reads what the flow will ask: the events named (rows locked); then,
    /// when the call may store a signal, the tenant lock with the next
    /// signal sequence, the ancestors and the chain state.
    async fn read_for_signal(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        call: &Call,
        operation: &str,
    ) -> Result<SignalRead, ErrorEffect> {
        let sql = |error: sqlx::Error| nothing_written(self.sql(operation, &error));
        let subject = call.subject();
        let mut asked = vec![subject];
        if let Call::Signal(_, UpstreamSignal::CompensationComplete { event_id }) = call {
            asked.push(*event_id);
        }
        let rows: Vec<TargetRow> = sqlx::query_as(sql::TARGETS)
            .bind(&asked)
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let mut read = SignalRead {
            asked,
            ..SignalRead::default()
        };
        for (id, tenant_id, correlation_id, flags) in rows {
            let flags = u8::try_from(flags).map_err(|_| {
                ErrorEffect::corrupt(Some(id), format!("stored flags {flags} are out of range"))
            })?;
            let target = SignalTarget {
                tenant_id,
                correlation_id,
                flags: EventFlags::from_bits_retain(flags),
            };
            read.targets.insert(id, target);
        }
        let Some(sender) = read.targets.get(&subject).copied() else {
            return Ok(read); // The flow reports it not found.
        };
        let chain = match call {
            Call::Acknowledge(_, false, ..) => return Ok(read),
            Call::Acknowledge(_, true, ..) if sender.flags.contains(EventFlags::ACKNOWLEDGED) => {
                return Ok(read)
            }
            Call::Signal(_, UpstreamSignal::Cancel { correlation_id, .. }) => Some(*correlation_id),
            Call::Signal(_, UpstreamSignal::Backpressure { .. }) => Some(sender.correlation_id),
            Call::Signal(..) | Call::Acknowledge(..) => None,
        };
        let (sequence,): (i64,) = sqlx::query_as(sql::NEXT_SIGNAL)
            .bind(sender.tenant_id)
            .fetch_one(&mut **tx)
            .await
            .map_err(sql)?;
        let (ancestors, cancelled, until): (Vec<Uuid>, Option<String>, Option<i64>) =
            sqlx::query_as(sql::CONTEXT)
                .bind(subject)
                .bind(sender.tenant_id)
                .bind(sql_limit(MAX_CHAIN_EVENTS + 1))
                .bind(chain.unwrap_or_default())
                .fetch_one(&mut **tx)
                .await
                .map_err(sql)?;
        read.sequence = Some(model_u64(Some(subject), "signal sequence", sequence)?);
        read.ancestors = Some(ancestors.into_iter().skip(1).collect());
        if let Some(correlation_id) = chain {
            let state = ChainState {
                cancelled,
                backpressure_until: until
                    .map(|until| model_u64(Some(correlation_id), "backpressure_until", until))
                    .transpose()?,
            };
            read.chain = Some(((sender.tenant_id, correlation_id), state));
        }
        Ok(read)
    }

    /// Stores what the flow decided, in one statement.
    async fn store_signal_writes(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        writes: &SignalWrites,
        dequeued: &[EventId],
        operation: &str,
    ) -> Result<(), ErrorEffect> {
        let sql = |error: sqlx::Error| nothing_written(self.sql(operation, &error));
        let signal = writes.signal.as_ref();
        let Some(tenant) = writes.tenant else {
            return Ok(());
        };
        let encoded = signal
            .map(|record| serde_json::to_string(&record.signal))
            .transpose()
            .map_err(|err| ErrorEffect::invalid("signal", format!("cannot be encoded: {err}")))?;
        let sequence = signal
            .map(|record| db_u64("signal sequence", record.sequence))
            .transpose()?;
        let timestamp = signal
            .map(|record| db_u64("timestamp", record.timestamp))
            .transpose()?;
        let until = writes
            .chain
            .as_ref()
            .and_then(|(_, _, state)| state.backpressure_until)
            .map(|until| db_u64("until", until))
            .transpose()?;
        let (flag_ids, flag_bits): (Vec<Uuid>, Vec<i16>) = writes
            .flags
            .iter()
            .map(|(id, flag)| (*id, i16::from(flag.bits())))
            .unzip();
        sqlx::query(sql::STORE)
            .bind(tenant)
            .bind(sequence)
            .bind(signal.map(|record| record.from).unwrap_or_default())
            .bind(
                signal
                    .map(|record| record.correlation_id)
                    .unwrap_or_default(),
            )
            .bind(encoded)
            .bind(timestamp)
            .bind(
                signal
                    .map(|record| record.delivered_to.clone())
                    .unwrap_or_default(),
            )
            .bind(
                writes
                    .chain
                    .as_ref()
                    .map(|(_, correlation, _)| *correlation),
            )
            .bind(
                writes
                    .chain
                    .as_ref()
                    .and_then(|(_, _, state)| state.cancelled.clone()),
            )
            .bind(until)
            .bind(&flag_ids)
            .bind(&flag_bits)
            .bind(dequeued)
            .execute(&mut **tx)
            .await
            .map_err(sql)?;
        Ok(())
    }
}

/// The wake-ups a committed signal transaction sends.
fn notifications(writes: &SignalWrites) -> Vec<String> {
    let mut changes = Vec::new();
    for (event_id, flag) in &writes.flags {
        if let (true, Some(tenant_id)) = (flag.contains(EventFlags::ACKNOWLEDGED), writes.tenant) {
            changes.push(PgChange::Acknowledged {
                tenant_id,
                event_id: *event_id,
            });
        }
    }
    if let Some(record) = &writes.signal {
        changes.push(PgChange::Signalled {
            tenant_id: record.tenant_id,
            sequence: record.sequence,
            from: record.from,
            signal: record.signal.type_name().to_owned(),
        });
    }
    if let Some((tenant_id, correlation_id, _)) = &writes.chain {
        changes.push(PgChange::ChainChanged {
            tenant_id: *tenant_id,
            correlation_id: *correlation_id,
        });
    }
    changes.iter().map(PgChange::payload).collect()
}
