//! The read protocol: which tier answers, and filling the cache from
//! PostgreSQL's answers.
//!
//! - Fresh: an answer that needs only valid cached entries (stamp = the
//!   current epoch) comes from the cache; anything else from PostgreSQL,
//!   whose result is filled in.
//! - Stale (connected, freshness not proven): PostgreSQL; the cache only
//!   when PostgreSQL fails with an operational error.
//! - Degraded (PostgreSQL unreachable): any cached entry, as it is; a miss
//!   goes to PostgreSQL and fails there in bounded time.

use std::collections::HashMap;

use eventdag::backend::capped;
use eventdag::backend::walk::{walk, WalkDirection, PRESIZED};
use eventdag::{Effect, Event, EventDag, EventId, TenantId};
use eventdag_lmdb::codec::{encode_event, RecordView};
use foldhash::fast::RandomState;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::answers::{Query, Recalled};
use crate::cache::{Cached, Capture, Snapshot};
use crate::freshness::Mode;
use crate::TieredDag;

/// Which cached entries an answer may use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// Only entries whose flags are valid in the current epoch.
    Valid(u64),
    /// Any entry (degraded mode, or PostgreSQL failed).
    Any,
}

impl Trust {
    fn admits(self, cached: &Cached<'_>) -> bool {
        match self {
            Self::Valid(epoch) => cached.stamp == epoch,
            Self::Any => true,
        }
    }
}

/// A cached walk hit an event it does not hold (or may not use).
struct Miss;

fn entry<'s>(
    snapshot: &'s Snapshot<'_, '_>,
    id: EventId,
    trust: Trust,
) -> Result<Cached<'s>, Miss> {
    snapshot
        .get(id)
        .filter(|cached| trust.admits(cached))
        .ok_or(Miss)
}

/// Encodes events as cache records.
fn records<P: Serialize>(events: &[Event<P>]) -> Vec<(EventId, Vec<u8>)> {
    events
        .iter()
        .filter_map(|event| {
            let payload = serde_json::to_vec(&event.payload).ok()?;
            let record = encode_event(event, &payload);
            Some((event.id(), record))
        })
        .collect()
}

impl<P> TieredDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    pub(crate) fn mode(&self) -> Mode {
        self.inner.fresh.mode()
    }

    fn trust_now(&self) -> Trust {
        Trust::Valid(self.inner.cache.epoch())
    }

    /// Fills the cache with events read from PostgreSQL after `capture`.
    pub(crate) fn fill(&self, capture: Capture, events: &[Event<P>]) {
        self.inner.cache.fill(capture, &records(events));
    }

    /// Runs a PostgreSQL read and fills its result into the cache.
    pub(crate) async fn through<F>(&self, read: F) -> Effect<Vec<Event<P>>>
    where
        F: std::future::Future<Output = Effect<Vec<Event<P>>>>,
    {
        let capture = self.inner.cache.capture();
        let result = read.await;
        if let Effect::Ok(events) = &result {
            self.fill(capture, events);
        }
        result
    }

    fn cached_event(&self, id: EventId, trust: Trust) -> Option<Event<P>> {
        self.inner
            .cache
            .read(|snapshot| {
                let cached = entry(snapshot, id, trust).ok()?;
                cached.view.event::<P>().ok()
            })
            .flatten()
    }

    /// Reads the event through the cache.
    pub(crate) async fn read_through(&self, id: EventId) -> Effect<Event<P>> {
        match self.mode() {
            Mode::Fresh => {
                if let Some(event) = self.cached_event(id, self.trust_now()) {
                    return Effect::Ok(event);
                }
            }
            Mode::Degraded => {
                if let Some(event) = self.cached_event(id, Trust::Any) {
                    return Effect::Ok(event);
                }
            }
            Mode::Stale => {}
        }
        let capture = self.inner.cache.capture();
        match self.inner.pg.read(id).await {
            Effect::Ok(event) => {
                self.fill(capture, std::slice::from_ref(&event));
                Effect::Ok(event)
            }
            Effect::Err(error) if error.is_operational() => self
                .cached_event(id, Trust::Any)
                .map_or(Effect::Err(error), Effect::Ok),
            other => other,
        }
    }

    /// The ancestors walk from the cache alone: `None` unless every event
    /// the walk reaches is cached (parents never change, so then the
    /// answer is complete and equal to PostgreSQL's). Each entry is looked
    /// up and checked once.
    fn cached_ancestors(&self, from: EventId, limit: usize, trust: Trust) -> Option<Vec<Event<P>>> {
        self.inner
            .cache
            .read(|snapshot| {
                let mut seen: HashMap<EventId, RecordView<'_>, RandomState> =
                    HashMap::with_capacity_and_hasher(limit.min(PRESIZED), RandomState::default());
                let start = entry(snapshot, from, trust).ok()?.view;
                seen.insert(from, start);
                let ids = walk(
                    (from, start.header().position),
                    limit,
                    WalkDirection::Ancestors,
                    |id| {
                        let view = *seen.get(&id).ok_or(Miss)?;
                        let mut parents = Vec::new();
                        for parent in view.parents() {
                            let parent_view = match seen.get(&parent) {
                                Some(known) => *known,
                                None => {
                                    let found = entry(snapshot, parent, trust)?.view;
                                    seen.insert(parent, found);
                                    found
                                }
                            };
                            parents.push((parent, parent_view.header().position));
                        }
                        Ok::<_, Miss>(parents)
                    },
                )
                .ok()?;
                let mut events = Vec::with_capacity(ids.len());
                for id in ids {
                    events.push(seen.get(&id)?.event::<P>().ok()?);
                }
                Some(events)
            })
            .flatten()
    }

    /// `walk_ancestors` through the cache.
    pub(crate) async fn ancestors_through(
        &self,
        from: EventId,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        let limit = capped(limit);
        let trust = match self.mode() {
            Mode::Fresh => Some(self.trust_now()),
            Mode::Degraded => Some(Trust::Any),
            Mode::Stale => None,
        };
        if let Some(events) = trust.and_then(|trust| self.cached_ancestors(from, limit, trust)) {
            return Effect::Ok(events);
        }
        match self
            .through(self.inner.pg.walk_ancestors(from, limit))
            .await
        {
            Effect::Err(error) if error.is_operational() => self
                .cached_ancestors(from, limit, Trust::Any)
                .map_or(Effect::Err(error), Effect::Ok),
            other => other,
        }
    }

    /// The events of `ids` from the cache alone, in order; `None` unless
    /// every one is cached and may be used.
    fn cached_events(&self, ids: &[EventId], trust: Trust) -> Option<Vec<Event<P>>> {
        self.inner
            .cache
            .read(|snapshot| {
                let mut events = Vec::with_capacity(ids.len());
                for id in ids {
                    events.push(entry(snapshot, *id, trust).ok()?.view.event::<P>().ok()?);
                }
                Some(events)
            })
            .flatten()
    }

    /// A remembered answer of `query` served from cached entries: at most
    /// `limit` of its ids, when it holds that many or is complete.
    fn recalled(&self, query: Query, limit: usize, trust: Trust) -> Option<Vec<Event<P>>> {
        let epoch = self.inner.cache.epoch();
        let recalled = self
            .inner
            .answers
            .recall(query, epoch, trust == Trust::Any)?;
        if recalled.ids.len() < limit && !recalled.complete {
            return None;
        }
        let take = recalled.ids.len().min(limit);
        self.cached_events(&recalled.ids[..take], trust)
    }

    /// A query whose answer grows with appends, through the cache: the
    /// remembered answer when it may be used and every event in it is
    /// cached; otherwise one PostgreSQL query, whose answer fills the
    /// cache and is remembered. `tenant_of` names the tenant of an answer
    /// (for a walk, that of its first event), `limit` is `usize::MAX` for
    /// a query without one.
    pub(crate) async fn growing_through<F>(
        &self,
        query: Query,
        limit: usize,
        read: F,
        tenant_of: impl FnOnce(&[Event<P>]) -> Option<TenantId>,
    ) -> Effect<Vec<Event<P>>>
    where
        F: std::future::Future<Output = Effect<Vec<Event<P>>>>,
    {
        let trust = match self.mode() {
            Mode::Fresh => Some(self.trust_now()),
            Mode::Degraded => Some(Trust::Any),
            Mode::Stale => None,
        };
        if let Some(events) = trust.and_then(|trust| self.recalled(query, limit, trust)) {
            return Effect::Ok(events);
        }
        let ticket = self.inner.answers.ticket(self.inner.cache.epoch());
        match self.through(read).await {
            Effect::Ok(events) => {
                if let Some(tenant) = tenant_of(&events) {
                    let recalled = Recalled {
                        ids: events.iter().map(Event::id).collect(),
                        complete: events.len() < limit,
                    };
                    self.inner.answers.remember(ticket, query, tenant, recalled);
                }
                Effect::Ok(events)
            }
            Effect::Err(error) if error.is_operational() => self
                .recalled(query, limit, Trust::Any)
                .map_or(Effect::Err(error), Effect::Ok),
            other => other,
        }
    }
}
