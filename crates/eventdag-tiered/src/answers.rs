//! [`Answers`]: remembered id lists of the queries whose answer grows with
//! appends — descendants walks and correlation chains — so that a repeat
//! can be served from cached entries.
//!
//! Event bodies never change, but which events a descendants walk or a
//! chain holds does, through appends on any node. An answer read from
//! PostgreSQL is therefore remembered with the time it was read and the
//! flags epoch, and used again only while all of these hold:
//!
//! - no append to its tenant has been seen since the read began: this
//!   node's own appends count when they return (so a caller always reads
//!   its own writes), other nodes' when their notification is heard;
//! - it is younger than the staleness bound, which caps the staleness even
//!   if a notification was lost;
//! - the epoch has not moved (it moves on every gap in notifications).
//!
//! Held in memory, at most [`MAX_REMEMBERED_IDS`] ids in all; the oldest
//! answers go first. Besides, one counter per tenant appended to.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use eventdag::{EventId, TenantId};

/// At most this many ids are remembered across all answers (16 bytes
/// each, so about 4 MiB).
pub(crate) const MAX_REMEMBERED_IDS: usize = 262_144;

/// A query whose answer grows with appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Query {
    /// `walk_descendants` from this event.
    Descendants(EventId),
    /// `find_correlation_chain` of this tenant and correlation id.
    Chain(TenantId, EventId),
}

/// Taken before a PostgreSQL read whose answer will be remembered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    clock: u64,
    epoch: u64,
    at: Instant,
}

/// A remembered answer, as [`Answers::recall`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recalled {
    /// The ids in contract order.
    pub(crate) ids: Vec<EventId>,
    /// Whether `ids` is the whole answer (for a walk: it stopped before
    /// its limit), so that any larger limit gets the same ids.
    pub(crate) complete: bool,
}

struct Answer {
    tenant: TenantId,
    recalled: Recalled,
    clock: u64,
    epoch: u64,
    at: Instant,
    serial: u64,
}

#[derive(Default)]
struct State {
    /// Counts appends seen (own and heard).
    clock: u64,
    /// The clock at each tenant's latest append seen.
    changed: HashMap<TenantId, u64>,
    answers: HashMap<Query, Answer>,
    /// Insertion order, for eviction: (serial, query); an entry whose
    /// serial no longer matches was replaced since.
    order: VecDeque<(u64, Query)>,
    serial: u64,
    held: usize,
}

/// The remembered answers of one node.
pub(crate) struct Answers {
    state: Mutex<State>,
    max_age: Duration,
}

impl Answers {
    /// Answers are used for at most `max_age` after their read.
    pub(crate) fn new(max_age: Duration) -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_age,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Call before the PostgreSQL read, with the current flags epoch.
    pub(crate) fn ticket(&self, epoch: u64) -> Ticket {
        Ticket {
            clock: self.state().clock,
            epoch,
            at: Instant::now(),
        }
    }

    /// An append to `tenant` committed (or may have): its answers are
    /// outdated.
    pub(crate) fn appended(&self, tenant: TenantId) {
        let mut state = self.state();
        state.clock += 1;
        let clock = state.clock;
        state.changed.insert(tenant, clock);
    }

    /// Remembers the answer of `query` (of `tenant`) read after `ticket`,
    /// unless an append to the tenant was seen since.
    pub(crate) fn remember(
        &self,
        ticket: Ticket,
        query: Query,
        tenant: TenantId,
        recalled: Recalled,
    ) {
        if recalled.ids.len() > MAX_REMEMBERED_IDS {
            return;
        }
        let mut state = self.state();
        if state
            .changed
            .get(&tenant)
            .is_some_and(|&at| at > ticket.clock)
        {
            return;
        }
        while state.held + recalled.ids.len() > MAX_REMEMBERED_IDS {
            let Some((serial, oldest)) = state.order.pop_front() else {
                break;
            };
            if state
                .answers
                .get(&oldest)
                .is_some_and(|a| a.serial == serial)
            {
                if let Some(gone) = state.answers.remove(&oldest) {
                    state.held -= gone.recalled.ids.len();
                }
            }
        }
        state.serial += 1;
        let serial = state.serial;
        state.held += recalled.ids.len();
        state.order.push_back((serial, query));
        let answer = Answer {
            tenant,
            recalled,
            clock: ticket.clock,
            epoch: ticket.epoch,
            at: ticket.at,
            serial,
        };
        if let Some(replaced) = state.answers.insert(query, answer) {
            state.held -= replaced.recalled.ids.len();
        }
        // Replaced answers leave their old entry in `order`; drop those
        // now and then so that re-remembering one hot query forever does
        // not grow it (amortised: at most one pass per doubling).
        if state.order.len() > 2 * state.answers.len() + 64 {
            let State { order, answers, .. } = &mut *state;
            order.retain(|(serial, query)| answers.get(query).is_some_and(|a| a.serial == *serial));
        }
    }

    /// The remembered answer of `query`, if it may still be used in
    /// `epoch`; with `any`, whatever is remembered (PostgreSQL is
    /// unreachable: degraded mode serves what the cache has).
    pub(crate) fn recall(&self, query: Query, epoch: u64, any: bool) -> Option<Recalled> {
        let state = self.state();
        let answer = state.answers.get(&query)?;
        let usable = any
            || (answer.epoch == epoch
                && answer.at.elapsed() <= self.max_age
                && state
                    .changed
                    .get(&answer.tenant)
                    .is_none_or(|&at| at <= answer.clock));
        usable.then(|| answer.recalled.clone())
    }

    /// Ids held now (for tests).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.state().held
    }

    /// Entries of the eviction order (for tests).
    #[cfg(test)]
    fn order_len(&self) -> usize {
        self.state().order.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use uuid::Uuid;

    fn ids(n: usize) -> Vec<EventId> {
        (0..n).map(|_| Uuid::now_v7()).collect()
    }

    fn whole(ids: Vec<EventId>) -> Recalled {
        Recalled {
            ids,
            complete: true,
        }
    }

    #[test]
    fn an_append_to_the_tenant_outdates_its_answers_only() {
        let answers = Answers::new(Duration::from_secs(60));
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (qa, qb) = (
            Query::Chain(a, Uuid::now_v7()),
            Query::Chain(b, Uuid::now_v7()),
        );
        answers.remember(answers.ticket(1), qa, a, whole(ids(3)));
        answers.remember(answers.ticket(1), qb, b, whole(ids(2)));
        assert_eq!(answers.recall(qa, 1, false).unwrap().ids.len(), 3);
        answers.appended(a);
        assert_eq!(answers.recall(qa, 1, false), None);
        assert!(
            answers.recall(qa, 1, true).is_some(),
            "degraded mode still serves it"
        );
        assert_eq!(answers.recall(qb, 1, false).unwrap().ids.len(), 2);
    }

    #[test]
    fn an_answer_read_across_an_append_is_not_remembered() {
        let answers = Answers::new(Duration::from_secs(60));
        let tenant = Uuid::now_v7();
        let query = Query::Descendants(Uuid::now_v7());
        let ticket = answers.ticket(1);
        answers.appended(tenant);
        answers.remember(ticket, query, tenant, whole(ids(1)));
        assert_eq!(answers.recall(query, 1, true), None);
    }

    #[test]
    fn answers_expire_with_age_and_epoch() {
        let answers = Answers::new(Duration::from_millis(30));
        let tenant = Uuid::now_v7();
        let query = Query::Chain(tenant, Uuid::now_v7());
        answers.remember(answers.ticket(4), query, tenant, whole(ids(1)));
        assert!(answers.recall(query, 4, false).is_some());
        assert_eq!(answers.recall(query, 5, false), None, "another epoch");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(answers.recall(query, 4, false), None, "too old");
    }

    #[test]
    fn re_remembering_one_query_keeps_the_order_bounded() {
        let answers = Answers::new(Duration::from_secs(60));
        let tenant = Uuid::now_v7();
        let query = Query::Chain(tenant, Uuid::now_v7());
        for _ in 0..10_000 {
            answers.remember(answers.ticket(1), query, tenant, whole(ids(2)));
        }
        assert!(answers.order_len() <= 2 + 64 + 1, "{}", answers.order_len());
        assert_eq!(answers.held(), 2);
        assert!(answers.recall(query, 1, false).is_some());
    }

    #[test]
    fn the_oldest_answers_make_room() {
        let answers = Answers::new(Duration::from_secs(60));
        let tenant = Uuid::now_v7();
        let first = Query::Descendants(Uuid::now_v7());
        let second = Query::Descendants(Uuid::now_v7());
        let third = Query::Descendants(Uuid::now_v7());
        let half = MAX_REMEMBERED_IDS / 2;
        answers.remember(answers.ticket(1), first, tenant, whole(ids(half)));
        answers.remember(answers.ticket(1), second, tenant, whole(ids(half)));
        answers.remember(answers.ticket(1), third, tenant, whole(ids(10)));
        assert_eq!(answers.recall(first, 1, false), None);
        assert!(answers.recall(second, 1, false).is_some());
        assert!(answers.recall(third, 1, false).is_some());
        assert_eq!(answers.held(), half + 10);
        answers.remember(answers.ticket(1), third, tenant, whole(ids(5)));
        assert_eq!(answers.held(), half + 5, "a replaced answer frees its ids");
    }
}
