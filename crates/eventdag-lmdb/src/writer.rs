//! The writer thread. LMDB write transactions must begin and commit on
//! one OS thread, and only one may be open at a time, so every write of a
//! store goes through one dedicated thread fed by a channel; callers await
//! a oneshot reply and never block the async runtime.
//!
//! Group commit: the thread takes every write already queued (up to
//! `LmdbOptions::group_commit`) into one transaction, each in its own
//! nested transaction: a refused write aborts only its nested transaction
//! and writes nothing, the others commit together with one fsync.
//!
//! A full map aborts the whole group, doubles the map (up to
//! `max_map_size`) and runs the group again: nothing half-written is ever
//! visible.

use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use eventdag::backend::{self, append_all, stored_events, Admission, PreparedBatch};
use eventdag::{
    now_micros, AckLease, ApiKeyRecord, Effect, ErrorEffect, Event, EventId, TenantRecord,
    UpstreamSignal,
};
use heed::RwTxn;
use tokio::sync::oneshot;

use crate::env::resize_exclusive;
use crate::error::storage_error;
use crate::fail::Fail;
use crate::forget_writes::{self, ForgetAnswer, ForgetOp};
use crate::puts::Puts;
use crate::queue::{self, QueueAnswer, QueueOp};
use crate::schema::Dbs;
use crate::shared::Shared;
use crate::tenant_writes;
use crate::write_event::{self, AppendLmdbTxn, LmdbTxn};

/// What a queued write came to, once it ran.
struct Outcome<T>(Option<Effect<T>>);

impl<T> Outcome<T> {
    fn fail(&mut self, error: &ErrorEffect) {
        self.0 = Some(Effect::Err(error.clone()));
    }

    /// Records the outcome; returns whether the nested transaction keeps
    /// its writes. A full map is handed back to the group.
    fn settle(&mut self, operation: &str, result: Result<T, Fail>) -> Result<bool, heed::Error> {
        match result {
            Ok(value) => {
                self.0 = Some(Effect::Ok(value));
                Ok(true)
            }
            Err(Fail::Storage(error @ heed::Error::Mdb(heed::MdbError::MapFull))) => Err(error),
            Err(fail) => {
                self.0 = Some(fail.into_effect(operation));
                Ok(false)
            }
        }
    }

    fn into_effect(self) -> Effect<T> {
        self.0.unwrap_or_else(|| {
            Effect::Err(ErrorEffect::unavailable(
                "write",
                "the writer did not run this write",
            ))
        })
    }
}

/// A write waiting for its answer.
pub(crate) struct Job<T> {
    reply: oneshot::Sender<Effect<T>>,
    outcome: Outcome<T>,
}

impl<T> Job<T> {
    fn finish(self) {
        // The caller may have gone away; its write stands regardless.
        let _ = self.reply.send(self.outcome.into_effect());
    }

    fn fail(&mut self, error: &ErrorEffect) {
        self.outcome.fail(error);
    }

    fn settle(&mut self, operation: &str, result: Result<T, Fail>) -> Result<bool, heed::Error> {
        self.outcome.settle(operation, result)
    }
}

/// A queued append: the batch is kept whole until the group commits
/// (a full map runs the group again on the same batch), and only then
/// handed back as stored.
pub(crate) struct AppendJob<P> {
    batch: PreparedBatch<P>,
    outcome: Outcome<()>,
    reply: oneshot::Sender<Effect<Vec<Event<P>>>>,
}

impl<P> AppendJob<P> {
    /// An append of `batch`, answered on `reply`.
    pub(crate) fn new(
        batch: PreparedBatch<P>,
        reply: oneshot::Sender<Effect<Vec<Event<P>>>>,
    ) -> Self {
        Self {
            batch,
            outcome: Outcome(None),
            reply,
        }
    }

    fn run(&mut self, txn: &mut RwTxn, dbs: &Dbs, now: u64) -> Result<bool, heed::Error> {
        let mut lmdb = AppendLmdbTxn {
            txn,
            dbs,
            puts: Puts::default(),
        };
        let result = match append_all(&mut lmdb, &mut self.batch, now) {
            Ok(Admission::Admitted) => lmdb.write(),
            Ok(Admission::Held(held)) => Err(Fail::Held(held)),
            Err(fail) => Err(fail),
        };
        self.outcome.settle("append", result)
    }

    fn finish(self) {
        let batch = self.batch;
        let answer = match self.outcome.into_effect().branch() {
            Ok(()) => Effect::Ok(stored_events(batch.into_appended())),
            Err(refused) => refused,
        };
        // The caller may have gone away; its write stands regardless.
        let _ = self.reply.send(answer);
    }
}

/// One queued write.
pub(crate) enum Command<P> {
    Append(Box<AppendJob<P>>),
    Acknowledge(EventId, bool, Job<()>),
    Signal(EventId, UpstreamSignal, Job<()>),
    CreateTenant(TenantRecord, Job<()>),
    PutApiKey(ApiKeyRecord, Job<()>),
    RevokeApiKey(String, Job<()>),
    Corrupt(EventId, Vec<u8>, Job<bool>),
    Queue(QueueOp, Job<QueueAnswer>),
    Forget(ForgetOp, Job<ForgetAnswer>),
}

impl<P> Command<P> {
    fn run(&mut self, txn: &mut RwTxn, dbs: &Dbs, now: u64) -> Result<bool, heed::Error> {
        match self {
            Self::Append(append) => append.run(txn, dbs, now),
            Self::Acknowledge(id, upstream, job) => {
                let mut lmdb = LmdbTxn { txn, dbs };
                // The queue's flow with the lease forced: the SPEC §1
                // acknowledgment also ends the event's queue state.
                let result = backend::queue::acknowledge_leased(
                    &mut lmdb,
                    None,
                    *id,
                    AckLease::Forced,
                    *upstream,
                    now,
                )
                .map(|_| ());
                job.settle("acknowledge", result)
            }
            Self::Signal(from, signal, job) => {
                let mut lmdb = LmdbTxn { txn, dbs };
                let result = backend::signal(&mut lmdb, *from, signal.clone(), now).map(|_| ());
                job.settle("signal_upstream", result)
            }
            Self::CreateTenant(tenant, job) => job.settle(
                "create_tenant",
                tenant_writes::create_tenant(txn, dbs, tenant),
            ),
            Self::PutApiKey(key, job) => {
                job.settle("put_api_key", tenant_writes::put_api_key(txn, dbs, key))
            }
            Self::RevokeApiKey(prefix, job) => job.settle(
                "revoke_api_key",
                tenant_writes::revoke_api_key(txn, dbs, prefix),
            ),
            Self::Corrupt(id, payload, job) => {
                job.settle("corrupt", write_event::corrupt(txn, dbs, id, payload))
            }
            Self::Queue(op, job) => {
                let result = queue::run(&mut LmdbTxn { txn, dbs }, op, now);
                job.settle(op.name(), result)
            }
            Self::Forget(op, job) => {
                let result = forget_writes::run(txn, dbs, op, now);
                job.settle(op.name(), result)
            }
        }
    }

    fn fail(&mut self, error: &ErrorEffect) {
        match self {
            Self::Append(append) => append.outcome.fail(error),
            Self::Acknowledge(_, _, job)
            | Self::Signal(_, _, job)
            | Self::CreateTenant(_, job)
            | Self::PutApiKey(_, job)
            | Self::RevokeApiKey(_, job) => job.fail(error),
            Self::Corrupt(_, _, job) => job.fail(error),
            Self::Queue(_, job) => job.fail(error),
            Self::Forget(_, job) => job.fail(error),
        }
    }

    fn finish(self) {
        match self {
            Self::Append(append) => append.finish(),
            Self::Acknowledge(_, _, job)
            | Self::Signal(_, _, job)
            | Self::CreateTenant(_, job)
            | Self::PutApiKey(_, job)
            | Self::RevokeApiKey(_, job) => job.finish(),
            Self::Corrupt(_, _, job) => job.finish(),
            Self::Queue(_, job) => job.finish(),
            Self::Forget(_, job) => job.finish(),
        }
    }
}

/// The handle to the writer thread; dropping it stops and joins the thread.
pub(crate) struct Writer<P> {
    sender: Option<mpsc::Sender<Command<P>>>,
    thread: Option<JoinHandle<()>>,
    /// Why there is no thread to send to: it stopped, or the store is
    /// read-only.
    refusal: fn() -> ErrorEffect,
}

impl<P> Drop for Writer<P> {
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(thread) = self.thread.take() {
            // A panicked writer has already failed its callers.
            let _ = thread.join();
        }
    }
}

fn stopped() -> ErrorEffect {
    ErrorEffect::unavailable(
        "write",
        "the store's writer thread has stopped (a previous write panicked); reopen the store",
    )
}

fn read_only() -> ErrorEffect {
    ErrorEffect::unavailable(
        "write",
        "the store was opened read-only (LmdbOptions::read_only), and writes nothing; write through the process that has it open for writing (e.g. the server's HTTP API), or open it without read_only once that process has stopped",
    )
}

impl<P: Send + 'static> Writer<P> {
    /// Starts the writer thread of `shared`.
    pub(crate) fn start(shared: Arc<Shared>) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("eventdag-lmdb-writer".into())
            .spawn(move || writer_loop(&shared, &receiver))?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
            refusal: stopped,
        })
    }

    /// A writer of a read-only store: every write is refused, saying why.
    pub(crate) fn refusing() -> Self {
        Self {
            sender: None,
            thread: None,
            refusal: read_only,
        }
    }

    /// Queues an append and waits until it is stored (or refused).
    pub(crate) async fn append(&self, batch: PreparedBatch<P>) -> Effect<Vec<Event<P>>> {
        let (reply, answer) = oneshot::channel();
        let Some(sender) = &self.sender else {
            return Effect::Err((self.refusal)());
        };
        let command = Command::Append(Box::new(AppendJob::new(batch, reply)));
        if sender.send(command).is_err() {
            return Effect::Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Effect::Err(stopped()))
    }

    /// Queues a write and waits for its answer.
    pub(crate) async fn call<T>(&self, command: impl FnOnce(Job<T>) -> Command<P>) -> Effect<T> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            reply,
            outcome: Outcome(None),
        };
        let Some(sender) = &self.sender else {
            return Effect::Err((self.refusal)());
        };
        if sender.send(command(job)).is_err() {
            return Effect::Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Effect::Err(stopped()))
    }
}

fn writer_loop<P>(shared: &Shared, receiver: &mpsc::Receiver<Command<P>>) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < shared.options.group_commit {
            match receiver.try_recv() {
                Ok(command) => group.push(command),
                Err(_) => break,
            }
        }
        run_group(shared, &mut group);
        // Kept read transactions predate this commit: ending them now
        // lets the next commits reuse the pages this one freed.
        shared.read_txns.clear();
        for command in group {
            command.finish();
        }
    }
}

fn run_group<P>(shared: &Shared, group: &mut [Command<P>]) {
    loop {
        let error = match try_group(shared, group) {
            Ok(()) => return,
            Err(heed::Error::Mdb(heed::MdbError::MapFull)) if grow(shared) => continue,
            Err(error) => error,
        };
        let error = storage_error("write", &error);
        for command in group.iter_mut() {
            command.fail(&error);
        }
        return;
    }
}

fn try_group<P>(shared: &Shared, group: &mut [Command<P>]) -> heed::Result<()> {
    let now = now_micros();
    let mut txn = shared.env.write_txn()?;
    for command in group.iter_mut() {
        let mut nested = shared.env.nested_write_txn(&mut txn)?;
        if command.run(&mut nested, &shared.dbs, now)? {
            nested.commit()?;
        } else {
            nested.abort();
        }
    }
    txn.commit()
}

/// Doubles the map, up to the configured maximum; returns whether it grew.
fn grow(shared: &Shared) -> bool {
    let current = shared.env.info().map_size;
    let target = current.saturating_mul(2).min(shared.options.max_map_size);
    if target <= current {
        return false;
    }
    // No write transaction is open (the group's was aborted), the
    // exclusive gate waits for every read to end, and with it held the
    // kept read transactions are ended: none is active.
    let _gate = shared.gate.write();
    shared.read_txns.clear();
    resize_exclusive(&shared.env, target).is_ok() && shared.env.info().map_size > current
}
