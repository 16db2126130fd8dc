//! Read transactions kept open between reads while they still see the
//! latest commit.
//!
//! With `MDB_NOTLS`, every `mdb_txn_begin` of a read transaction takes
//! LMDB's reader-table mutex to claim a slot, and its end gives the slot
//! back; profiles of a hot read put that, with the transaction's
//! allocation, at a fifth of the read. heed 0.22 offers no
//! `mdb_txn_reset`/`mdb_txn_renew`, so instead a finished read transaction
//! is kept, and reused as long as no transaction committed after it: its
//! snapshot is then exactly what a new transaction would see. Whether one
//! did is read from the environment's meta page (the last committed
//! transaction id), which also sees commits of another process, so a
//! read-only store beside a writer never serves a stale snapshot either.
//!
//! Invariants:
//! - A kept transaction pins only the latest snapshot, or one commit
//!   behind until the next read or commit drops it: the writer calls
//!   [`ReadTxns::clear`] after every commit, so kept transactions never
//!   hold pages that the writer could otherwise reuse for long.
//! - Kept transactions are active transactions: growing the map (which
//!   LMDB allows only with none active) clears them first, under the
//!   store's gate held exclusively, while no read can take or return one.
//! - Each kept transaction holds a reader slot. At most [`MAX_IDLE`] are
//!   kept, and every one was opened by a read holding a permit of the
//!   reader semaphore, so they never exceed what the semaphore allows.

use heed::{Env, RoTxn, WithoutTls};
use parking_lot::Mutex;

/// The most idle read transactions kept.
pub(crate) const MAX_IDLE: usize = 16;

/// A read transaction that may outlive the borrow of the environment (it
/// holds its own handle to it).
pub(crate) type ReadTxn = RoTxn<'static, WithoutTls>;

/// Idle read transactions, all of the latest snapshot when kept.
#[derive(Default)]
pub(crate) struct ReadTxns {
    idle: Mutex<Vec<ReadTxn>>,
}

impl ReadTxns {
    /// A read transaction that sees every commit made so far: a kept one
    /// if it still does, a new one otherwise.
    pub(crate) fn take(&self, env: &Env<WithoutTls>) -> heed::Result<ReadTxn> {
        let latest = env.info().last_txn_id;
        let mut stale = Vec::new();
        let fresh = {
            let mut idle = self.idle.lock();
            loop {
                match idle.pop() {
                    Some(txn) if txn.id() == latest => break Some(txn),
                    Some(txn) => stale.push(txn),
                    None => break None,
                }
            }
        };
        // Ending transactions outside the lock.
        drop(stale);
        match fresh {
            Some(txn) => Ok(txn),
            None => env.clone().static_read_txn(),
        }
    }

    /// Keeps `txn` for the next read (or ends it, when enough are kept).
    pub(crate) fn give_back(&self, txn: ReadTxn) {
        let surplus = {
            let mut idle = self.idle.lock();
            if idle.len() < MAX_IDLE {
                idle.push(txn);
                None
            } else {
                Some(txn)
            }
        };
        drop(surplus);
    }

    /// Ends every kept transaction: after a commit (they are stale) and
    /// before the map grows (none may be active).
    pub(crate) fn clear(&self) {
        let kept = std::mem::take(&mut *self.idle.lock());
        drop(kept);
    }
}
