//! Group commit: appends that arrive while a transaction is in flight
//! wait in a queue, and the next transaction takes them all — one
//! prefetch, one lock of their tenants (in id order), one insert, one
//! COMMIT and fsync, one NOTIFY per tenant — as the LMDB writer does.
//!
//! Invariants:
//! - Each append is still all or none, and only itself: the core's flow
//!   runs over the group's prefetch one append after the other, and an
//!   append it refuses or holds is taken back out of the plan
//!   ([`Planner::rollback`]) and answered at once; its neighbours commit.
//! - `Ok` only after the COMMIT; an error of the COMMIT is an unknown
//!   outcome for every append of the group, each naming its own event.
//! - Per-tenant cursors stay commit-ordered: the group holds its tenants'
//!   log rows from the prefetch to the COMMIT, as a single append did.
//! - Two appends naming the same event id never share a group (the second
//!   waits for the next one, where it finds the first's event stored).
//!
//! One committer per `PgDag`: a group of 16 appends costs what one append
//! did, which is the point; nodes still commit in parallel with each other.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use eventdag::backend::{append_all, Admission, Prepared, PreparedBatch};
use eventdag::{ErrorEffect, EventId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::plan::Planner;
use super::{Failure, Outcome, ID_RACE_ATTEMPTS};
use crate::commit::{CommitWatch, Recovery};
use crate::sql_error::nothing_written;
use crate::store::Inner;
use crate::PgDag;

/// The most appends one transaction takes.
const MAX_GROUP_APPENDS: usize = 256;

/// The most events one transaction takes (a larger single batch still
/// goes alone).
const MAX_GROUP_EVENTS: usize = eventdag::MAX_BATCH_EVENTS;

/// One append waiting for a group.
pub(crate) struct Job<P> {
    pub(crate) operation: &'static str,
    pub(crate) batch: PreparedBatch<P>,
    pub(crate) now: u64,
    /// Shared with the caller: "in flight" from the moment a group takes
    /// the job, so that a caller's timeout after that is an unknown
    /// outcome, and before it a cancellation.
    pub(crate) watch: Arc<CommitWatch>,
    pub(crate) reply: oneshot::Sender<Result<Outcome<P>, ErrorEffect>>,
}

impl<P> Job<P> {
    fn ids(&self) -> impl Iterator<Item = EventId> + '_ {
        self.batch.valid().map(Prepared::id)
    }

    fn answer(self, outcome: Result<Outcome<P>, ErrorEffect>) {
        // A caller that gave up no longer listens; nothing to do then.
        let _ = self.reply.send(outcome);
    }

    /// Answers that every event is stored, as stored.
    fn stored(self) {
        let Job { batch, reply, .. } = self;
        let _ = reply.send(Ok(Outcome::Stored(batch.into_appended())));
    }
}

/// An append of a group, planned.
struct Planned<P> {
    job: Job<P>,
    /// Its first event inserted by this group (the one an unknown outcome
    /// names).
    first: EventId,
}

/// How a group attempt ended without an error.
enum GroupEnd {
    /// Every append was answered.
    Done,
    /// Another node inserted one of the ids first: plan again (the retry
    /// finds the stored event and compares it).
    IdRaced,
}

/// The committer: takes every append waiting, commits them as a group,
/// and repeats until the store is dropped.
pub(crate) async fn run<P>(store: Weak<Inner<P>>, mut jobs: mpsc::UnboundedReceiver<Job<P>>)
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    let mut carried: Option<Job<P>> = None;
    let mut pruned_at = std::time::Instant::now();
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut ids: HashSet<EventId> = HashSet::new();
        let mut events = 0;
        let mut group = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            if job.ids().any(|id| ids.contains(&id)) {
                carried = Some(job);
                break;
            }
            let Some(first_id) = job.ids().next() else {
                // Callers queue only batches with an event to store.
                job.stored();
                next = jobs.try_recv().ok();
                continue;
            };
            if !job.watch.take(first_id, Recovery::Append) {
                // Its caller timed out before the group took it.
                next = jobs.try_recv().ok();
                continue;
            }
            ids.extend(job.ids());
            events += job.batch.valid().count();
            group.push(job);
            if group.len() < MAX_GROUP_APPENDS && events < MAX_GROUP_EVENTS {
                next = jobs.try_recv().ok();
            }
        }
        if group.is_empty() {
            continue;
        }
        let Some(inner) = store.upgrade() else {
            for job in group {
                let operation = job.operation;
                job.answer(Err(ErrorEffect::unavailable(
                    operation,
                    "the store was closed; nothing was written",
                )));
            }
            return;
        };
        let dag = PgDag {
            inner,
            _payload: std::marker::PhantomData,
        };
        dag.commit_group(group).await;
        if pruned_at.elapsed() >= PRUNE_EVERY {
            // Off the committer's path: appends do not wait for it.
            pruned_at = std::time::Instant::now();
            let retention = dag.inner.options.change_log_retention;
            tokio::spawn(async move {
                if let eventdag::Effect::Err(error) = dag.prune_changes(retention).await {
                    tracing::debug!(%error, "change log not pruned this time");
                }
            });
        }
    }
}

/// How often the committer prunes the change log (migration 0004) of
/// rows older than `PgOptions::change_log_retention`.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Commits `group`, retrying it when it loses a race on an event id,
    /// and answers every append.
    async fn commit_group(&self, group: Vec<Job<P>>) {
        // Owned here, outside the future the operation timeout may drop,
        // so that every append is answered whatever happens.
        let mut planned: Vec<Planned<P>> = group.into_iter().map(unplanned).collect();
        let watch = CommitWatch::default();
        for attempt in 1..=ID_RACE_ATTEMPTS {
            let attempt_result = self
                .bounded_write("append", &watch, self.try_group(&mut planned, &watch))
                .await;
            let error = match attempt_result {
                Ok(GroupEnd::Done) => return,
                Ok(GroupEnd::IdRaced) if attempt < ID_RACE_ATTEMPTS => continue,
                Ok(GroupEnd::IdRaced) => ErrorEffect::unavailable(
                    "append",
                    "kept losing races on an event id to concurrent appends; retry (nothing of it was written)",
                ),
                Err(error) => error,
            };
            for Planned { job, first } in planned.drain(..) {
                let error = match &error {
                    // Each append names its own event.
                    ErrorEffect::OutcomeUnknown { .. } => {
                        let cause = watch
                            .unknown_cause()
                            .unwrap_or_else(|| "the COMMIT's answer was lost".to_owned());
                        Recovery::Append.unknown(job.operation, first, &cause)
                    }
                    other => other.clone(),
                };
                job.answer(Err(error));
            }
            return;
        }
    }

    /// One transaction over the appends in `planned`. Those the flow
    /// refuses or holds are answered at once and removed; the others are
    /// answered after the COMMIT, or — on an error — by the caller.
    async fn try_group(
        &self,
        planned: &mut Vec<Planned<P>>,
        watch: &CommitWatch,
    ) -> Result<GroupEnd, ErrorEffect> {
        let operation = "append";
        let failed = |failure: Failure| match failure {
            Failure::Error(error) => Err(error),
            Failure::IdRaced => Ok(GroupEnd::IdRaced),
        };
        let mut tx = self
            .inner
            .pool
            .begin()
            .await
            .map_err(|error| nothing_written(self.sql(operation, &error)))?;
        let batches: Vec<&PreparedBatch<P>> = planned.iter().map(|p| &p.job.batch).collect();
        let read = match self.prefetch(&mut tx, &batches, operation).await {
            Ok(read) => read,
            Err(failure) => return failed(failure),
        };
        let mut planner = Planner::new(read);
        // No await from here to the insert: the loop runs to its end.
        for Planned { mut job, .. } in std::mem::take(planned) {
            let mark = planner.checkpoint();
            match append_all(&mut planner, &mut job.batch, job.now) {
                Ok(Admission::Admitted) => match planner.first_since(&mark) {
                    Some(first) => {
                        job.watch.set(Some((first, Recovery::Append)));
                        planned.push(Planned { job, first });
                    }
                    // Every event was stored before: an idempotent
                    // re-append, answered without a commit.
                    None => {
                        job.watch.set(None);
                        job.stored();
                    }
                },
                Ok(Admission::Held(held)) => {
                    planner.rollback(mark);
                    job.watch.set(None);
                    job.answer(Ok(Outcome::Held(held)));
                }
                Err(error) => {
                    planner.rollback(mark);
                    job.watch.set(None);
                    job.answer(Err(error));
                }
            }
        }
        let mut plan = planner.finish()?;
        let Some(first) = planned.first().map(|p| p.first) else {
            // Nothing to write; dropping the transaction releases the
            // tenant locks.
            return Ok(GroupEnd::Done);
        };
        if let Err(failure) = self.write(&mut tx, &plan, operation).await {
            return failed(failure);
        }
        self.commit(tx, watch, operation, first, Recovery::Append)
            .await?;
        self.announce(std::mem::take(&mut plan.notifications));
        for Planned { job, .. } in planned.drain(..) {
            job.stored();
        }
        Ok(GroupEnd::Done)
    }
}

/// A job not planned yet (an error then names its first event).
fn unplanned<P>(job: Job<P>) -> Planned<P> {
    let first = job.ids().next().unwrap_or_default();
    Planned { job, first }
}
