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

use eventdag::append_rules::PreparedAppend;
use eventdag::{
    now_micros, ApiKeyRecord, Effect, ErrorEffect, EventId, TenantRecord, UpstreamSignal,
};
use heed::RwTxn;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use crate::dag::Shared;
use crate::env::resize_exclusive;
use crate::error::storage_error;
use crate::fail::Fail;
use crate::schema::Dbs;
use crate::{tenant_writes, write_event, write_signal};

/// A write waiting for its answer.
pub(crate) struct Job<T> {
    reply: oneshot::Sender<Effect<T>>,
    result: Option<Effect<T>>,
}

impl<T> Job<T> {
    fn finish(self) {
        let result = self.result.unwrap_or_else(|| {
            Effect::Err(ErrorEffect::unavailable(
                "write",
                "the writer did not run this write",
            ))
        });
        // The caller may have gone away; its write stands regardless.
        let _ = self.reply.send(result);
    }

    fn fail(&mut self, error: &ErrorEffect) {
        self.result = Some(Effect::Err(error.clone()));
    }

    /// Records the outcome; returns whether the nested transaction keeps
    /// its writes. A full map is handed back to the group.
    fn settle(&mut self, operation: &str, result: Result<T, Fail>) -> Result<bool, heed::Error> {
        match result {
            Ok(value) => {
                self.result = Some(Effect::Ok(value));
                Ok(true)
            }
            Err(Fail::Storage(error @ heed::Error::Mdb(heed::MdbError::MapFull))) => Err(error),
            Err(fail) => {
                self.result = Some(fail.into_effect(operation));
                Ok(false)
            }
        }
    }
}

/// A prepared event, or the error `prepare` refused it with.
pub(crate) type Prepared<P> = Result<PreparedAppend<P>, ErrorEffect>;

/// One queued write.
pub(crate) enum Command<P> {
    Append(Box<Prepared<P>>, Job<EventId>),
    Batch(Vec<Prepared<P>>, Job<Vec<EventId>>),
    Acknowledge(EventId, bool, Job<()>),
    Signal(EventId, UpstreamSignal, Job<()>),
    CreateTenant(TenantRecord, Job<()>),
    PutApiKey(ApiKeyRecord, Job<()>),
    RevokeApiKey(String, Job<()>),
    Corrupt(EventId, Vec<u8>, Job<bool>),
}

impl<P: DeserializeOwned> Command<P> {
    fn run(&mut self, txn: &mut RwTxn, dbs: &Dbs, now: u64) -> Result<bool, heed::Error> {
        match self {
            Self::Append(prepared, job) => {
                let result = match prepared.as_mut() {
                    Ok(prepared) => write_event::append(txn, dbs, prepared, now),
                    Err(error) => Err(Fail::Refused(error.clone())),
                };
                job.settle("append", result)
            }
            Self::Batch(events, job) => {
                let result = events
                    .iter_mut()
                    .map(|prepared| match prepared {
                        Ok(prepared) => write_event::append(txn, dbs, prepared, now),
                        Err(error) => Err(Fail::Refused(error.clone())),
                    })
                    .collect();
                job.settle("append_batch", result)
            }
            Self::Acknowledge(id, upstream, job) => {
                let result = write_signal::acknowledge(txn, dbs, *id, *upstream, now);
                job.settle("acknowledge", result)
            }
            Self::Signal(from, signal, job) => {
                let result = write_signal::signal(txn, dbs, *from, signal.clone(), now);
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
        }
    }

    fn fail(&mut self, error: &ErrorEffect) {
        match self {
            Self::Append(_, job) => job.fail(error),
            Self::Batch(_, job) => job.fail(error),
            Self::Acknowledge(_, _, job)
            | Self::Signal(_, _, job)
            | Self::CreateTenant(_, job)
            | Self::PutApiKey(_, job)
            | Self::RevokeApiKey(_, job) => job.fail(error),
            Self::Corrupt(_, _, job) => job.fail(error),
        }
    }

    fn finish(self) {
        match self {
            Self::Append(_, job) => job.finish(),
            Self::Batch(_, job) => job.finish(),
            Self::Acknowledge(_, _, job)
            | Self::Signal(_, _, job)
            | Self::CreateTenant(_, job)
            | Self::PutApiKey(_, job)
            | Self::RevokeApiKey(_, job) => job.finish(),
            Self::Corrupt(_, _, job) => job.finish(),
        }
    }
}

/// The handle to the writer thread; dropping it stops and joins the thread.
pub(crate) struct Writer<P> {
    sender: Option<mpsc::Sender<Command<P>>>,
    thread: Option<JoinHandle<()>>,
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

impl<P: DeserializeOwned + Send + 'static> Writer<P> {
    /// Starts the writer thread of `shared`.
    pub(crate) fn start(shared: Arc<Shared>) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("eventdag-lmdb-writer".into())
            .spawn(move || writer_loop(&shared, &receiver))?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Queues a write and waits for its answer.
    pub(crate) async fn call<T>(&self, command: impl FnOnce(Job<T>) -> Command<P>) -> Effect<T> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            reply,
            result: None,
        };
        let Some(sender) = &self.sender else {
            return Effect::Err(stopped());
        };
        if sender.send(command(job)).is_err() {
            return Effect::Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Effect::Err(stopped()))
    }
}

fn writer_loop<P: DeserializeOwned>(shared: &Shared, receiver: &mpsc::Receiver<Command<P>>) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < shared.options.group_commit {
            match receiver.try_recv() {
                Ok(command) => group.push(command),
                Err(_) => break,
            }
        }
        run_group(shared, &mut group);
        for command in group {
            command.finish();
        }
    }
}

fn run_group<P: DeserializeOwned>(shared: &Shared, group: &mut [Command<P>]) {
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

fn try_group<P: DeserializeOwned>(shared: &Shared, group: &mut [Command<P>]) -> heed::Result<()> {
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
    // No write transaction is open (the group's was aborted) and the
    // exclusive gate waits for every read transaction to end.
    let _gate = shared.gate.write();
    resize_exclusive(&shared.env, target).is_ok() && shared.env.info().map_size > current
}
