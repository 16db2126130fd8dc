//! Work queues on LMDB (SPEC §9): the core's queue flow
//! (`eventdag::backend::queue`) over the writer's transaction. Queue state
//! lives in two databases of the same environment, written in the same
//! group-committed write transactions as the events, so a claim that
//! answered `Ok` survives `kill -9` like an acknowledgment:
//!
//! - `queue`: event id(16) → [`QueueEntry`] (JSON);
//! - `dead_letters`: tenant(16) ‖ event id(16) → () for every dead letter.
//!
//! A claim scans `tenant_unacked` (the tenant's queue order) and reads
//! each event's fixed-offset header for the kind and chain filters.
//! Leases are judged by this process's clock (the writer group's `now`).

use std::ops::Bound;
use std::time::Duration;

use async_trait::async_trait;
use eventdag::backend::capped;
use eventdag::backend::queue::{self as flow, Leased, QueueTxn, Waiting};
use eventdag::{
    AckLease, ClaimRequest, Claimed, DeadLetter, Effect, ErrorEffect, EventId, Lease, LeaseRef,
    QueueEntry, TenantId, WorkQueue,
};
use heed::RoTxn;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::fail::Fail;
use crate::keys::{self, uuid_at, KeyBuf};
use crate::read;
use crate::schema::Dbs;
use crate::write_event::LmdbTxn;
use crate::write_signal::put_json;
use crate::writer::Command;
use crate::LmdbDag;

/// A queue write for the writer thread.
pub(crate) enum QueueOp {
    Claim(ClaimRequest),
    Extend(LeaseRef, Duration),
    Release(LeaseRef, Duration),
    Acknowledge(TenantId, EventId, AckLease, bool),
    Requeue(TenantId, EventId),
}

impl QueueOp {
    /// The operation's name in errors.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Claim(_) => "claim",
            Self::Extend(..) => "extend_lease",
            Self::Release(..) => "release_lease",
            Self::Acknowledge(..) => "acknowledge",
            Self::Requeue(..) => "requeue",
        }
    }
}

/// What a queue write answers.
pub(crate) enum QueueAnswer {
    Leased(Vec<Leased>),
    Lease(Lease),
    Done,
}

/// Runs one queue write inside the writer's (nested) transaction.
pub(crate) fn run(txn: &mut LmdbTxn<'_, '_>, op: &QueueOp, now: u64) -> Result<QueueAnswer, Fail> {
    Ok(match op {
        QueueOp::Claim(request) => QueueAnswer::Leased(flow::claim(txn, request, now)?),
        QueueOp::Extend(lease, duration) => {
            QueueAnswer::Lease(flow::extend(txn, *lease, *duration, now)?)
        }
        QueueOp::Release(lease, delay) => {
            flow::release(txn, *lease, *delay, now)?;
            QueueAnswer::Done
        }
        QueueOp::Acknowledge(tenant, id, lease, upstream) => {
            flow::acknowledge_leased(txn, Some(*tenant), *id, *lease, *upstream, now)?;
            QueueAnswer::Done
        }
        QueueOp::Requeue(tenant, id) => {
            flow::requeue(txn, *tenant, *id)?;
            QueueAnswer::Done
        }
    })
}

fn entry_of(txn: &RoTxn, dbs: &Dbs, id: &EventId) -> Result<Option<QueueEntry>, Fail> {
    read::json(txn, &dbs.queue, id.as_bytes(), "queue entry")
}

fn dead_key(tenant: &TenantId, id: &EventId) -> Vec<u8> {
    KeyBuf::new().id(tenant).id(id).done()
}

impl QueueTxn for LmdbTxn<'_, '_> {
    fn waiting(
        &mut self,
        tenant_id: TenantId,
        after: Option<(u64, EventId)>,
        limit: usize,
    ) -> Result<Vec<Waiting>, Fail> {
        let prefix = KeyBuf::new().id(&tenant_id).done();
        let start = after.map_or_else(
            || prefix.clone(),
            |(timestamp, id)| keys::tenant_unacked(&tenant_id, timestamp, &id),
        );
        let lower = match after {
            Some(_) => Bound::Excluded(start.as_slice()),
            None => Bound::Included(start.as_slice()),
        };
        let mut ids = Vec::new();
        for entry in self
            .dbs
            .tenant_unacked
            .range(self.txn, &(lower, Bound::Unbounded))?
        {
            let (key, _) = entry?;
            if !key.starts_with(&prefix) || ids.len() >= limit {
                break;
            }
            let id = uuid_at(key, 24).ok_or_else(|| {
                ErrorEffect::corrupt(None, "a tenant_unacked key is shorter than its layout")
            })?;
            ids.push(id);
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let header = read::require(self.txn, self.dbs, &id)?.header();
            out.push(Waiting {
                event_id: id,
                timestamp: header.timestamp,
                kind: header.event_kind,
                correlation_id: header.correlation_id,
            });
        }
        Ok(out)
    }

    fn entry(&mut self, event_id: EventId) -> Result<Option<QueueEntry>, Fail> {
        entry_of(self.txn, self.dbs, &event_id)
    }

    fn put_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), Fail> {
        let key = dead_key(&entry.tenant_id, &event_id);
        if entry.dead_lettered_at.is_some() {
            self.dbs.dead_letters.put(self.txn, &key, &[])?;
        } else {
            self.dbs.dead_letters.delete(self.txn, &key)?;
        }
        put_json(self.txn, &self.dbs.queue, event_id.as_bytes(), entry)
    }

    fn remove_entry(&mut self, event_id: EventId, entry: &QueueEntry) -> Result<(), Fail> {
        let key = dead_key(&entry.tenant_id, &event_id);
        self.dbs.dead_letters.delete(self.txn, &key)?;
        self.dbs.queue.delete(self.txn, event_id.as_bytes())?;
        Ok(())
    }
}

impl<P> LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn queue_write(&self, op: QueueOp) -> Effect<QueueAnswer> {
        self.writer.call(|job| Command::Queue(op, job)).await
    }
}

fn unexpected<T>(operation: &str) -> Effect<T> {
    Effect::Err(ErrorEffect::unavailable(
        operation,
        "the writer answered another kind of queue result (a bug in the store)",
    ))
}

#[async_trait]
impl<P> WorkQueue for LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn claim(&self, request: ClaimRequest) -> Effect<Vec<Claimed<P>>> {
        let leased = match self.queue_write(QueueOp::Claim(request)).await.branch() {
            Ok(QueueAnswer::Leased(leased)) => leased,
            Ok(_) => return unexpected("claim"),
            Err(effect) => return effect,
        };
        if leased.is_empty() {
            return Effect::Ok(Vec::new());
        }
        // Read after the commit: the leases are durable whatever happens
        // to this read; an event acknowledged meanwhile shows its flag.
        self.read_blocking("claim", move |txn, dbs| {
            let ids: Vec<EventId> = leased.iter().map(|leased| leased.event_id).collect();
            let events = read::events::<P>(txn, dbs, &ids)?;
            Ok(events
                .into_iter()
                .zip(leased)
                .map(|(event, leased)| Claimed {
                    event,
                    attempt: leased.attempt,
                    lease: leased.lease,
                })
                .collect())
        })
        .await
    }

    async fn extend_lease(&self, lease: LeaseRef, duration: Duration) -> Effect<Lease> {
        match self
            .queue_write(QueueOp::Extend(lease, duration))
            .await
            .branch()
        {
            Ok(QueueAnswer::Lease(lease)) => Effect::Ok(lease),
            Ok(_) => unexpected("extend_lease"),
            Err(effect) => effect,
        }
    }

    async fn release_lease(&self, lease: LeaseRef, delay: Duration) -> Effect<()> {
        self.queue_write(QueueOp::Release(lease, delay))
            .await
            .map(|_| ())
    }

    async fn acknowledge_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Effect<()> {
        self.queue_write(QueueOp::Acknowledge(
            tenant_id,
            event_id,
            lease,
            send_upstream,
        ))
        .await
        .map(|_| ())
    }

    async fn dead_letters(
        &self,
        tenant_id: TenantId,
        after: Option<EventId>,
        limit: usize,
    ) -> Effect<Vec<DeadLetter<P>>> {
        let limit = capped(limit);
        self.read_blocking("dead_letters", move |txn, dbs| {
            let prefix = KeyBuf::new().id(&tenant_id).done();
            let start = after.map_or_else(|| prefix.clone(), |id| dead_key(&tenant_id, &id));
            let lower = match after {
                Some(_) => Bound::Excluded(start.as_slice()),
                None => Bound::Included(start.as_slice()),
            };
            let mut out = Vec::new();
            for entry in dbs.dead_letters.range(txn, &(lower, Bound::Unbounded))? {
                let (key, _) = entry?;
                if !key.starts_with(&prefix) || out.len() >= limit {
                    break;
                }
                let id = uuid_at(key, 16).ok_or_else(|| {
                    ErrorEffect::corrupt(None, "a dead_letters key is shorter than its layout")
                })?;
                let Some(entry) = entry_of(txn, dbs, &id)? else {
                    return Err(ErrorEffect::corrupt(
                        Some(id),
                        "listed as a dead letter without queue state",
                    )
                    .into());
                };
                out.push(DeadLetter {
                    event: read::event(txn, dbs, &id)?,
                    attempts: entry.attempts,
                    dead_lettered_at: entry.dead_lettered_at.unwrap_or_default(),
                    last_consumer: entry.last_consumer,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn requeue(&self, tenant_id: TenantId, event_id: EventId) -> Effect<()> {
        self.queue_write(QueueOp::Requeue(tenant_id, event_id))
            .await
            .map(|_| ())
    }

    async fn queue_entry(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
    ) -> Effect<Option<QueueEntry>> {
        self.read_now("queue_entry", |txn, dbs| {
            match read::view(txn, dbs, &event_id)? {
                Some(view) if view.tenant_id() == tenant_id => entry_of(txn, dbs, &event_id),
                _ => Err(ErrorEffect::NotFound { event_id }.into()),
            }
        })
        .await
    }
}
