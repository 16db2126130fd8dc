//! Every store call the handlers make, scoped to the caller's tenant and
//! timed for `/metrics`. Isolation lives here: an event of another tenant
//! is reported exactly like a missing one.

use std::future::Future;
use std::time::Instant;

use eventdag::RawJson;
use eventdag::{
    CursorEvent, DagPosition, Effect, ErrorEffect, Event, EventDagExt, EventId, EventKind,
    NewEvent, SignalRecord, TenantId, UpstreamSignal, Verification,
};

use crate::metrics::StoreOutcome;
use crate::{ApiError, AppState, ServerStore};

type Stored = Event<RawJson>;

impl<S: ServerStore> AppState<S> {
    /// Runs one store operation, recording its time and outcome.
    pub(crate) async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Effect<T>>,
    ) -> Result<T, ApiError> {
        let started = Instant::now();
        let effect = call.await;
        let outcome = match &effect {
            Effect::Ok(_) => StoreOutcome::Ok,
            Effect::Err(error) if error.is_operational() => StoreOutcome::Failed,
            _ => StoreOutcome::Refused,
        };
        self.inner
            .metrics
            .store_op(operation, outcome, started.elapsed());
        match effect {
            Effect::Ok(value) => Ok(value),
            other => Err(ApiError::from_effect(other)),
        }
    }

    fn dag(&self) -> &S {
        self.inner.store.as_ref()
    }

    /// The event if it belongs to `tenant`; not-found otherwise.
    pub(crate) async fn own_event(
        &self,
        tenant: TenantId,
        id: EventId,
    ) -> Result<Stored, ApiError> {
        let event = self.timed("read", self.dag().read(id)).await?;
        if event.tenant_id == tenant {
            Ok(event)
        } else {
            Err(not_found(id))
        }
    }

    /// Appends one draft; wakes the streams. Without a given position the
    /// store assigns it inside its write transaction, so concurrent
    /// requests never conflict and no lock is needed here; nothing is read
    /// before or after the write.
    pub(crate) async fn append(&self, draft: NewEvent<RawJson>) -> Result<Stored, ApiError> {
        let result = self
            .timed("append", self.dag().append_new(draft))
            .await
            .map(served);
        if result.is_ok() {
            self.inner.metrics.appended(1);
            self.inner.notifier.poke();
        }
        result
    }

    /// Appends drafts all or none; returns them as stored. The store
    /// answers a client id of another tenant's event as not found.
    pub(crate) async fn append_batch(
        &self,
        drafts: Vec<NewEvent<RawJson>>,
    ) -> Result<Vec<Stored>, ApiError> {
        let events = self
            .timed("append_batch", self.dag().append_new_batch(drafts))
            .await?
            .into_iter()
            .map(served)
            .collect::<Vec<_>>();
        self.inner.metrics.appended(events.len());
        self.inner.notifier.poke();
        Ok(events)
    }

    /// `from` and its ancestors (or descendants).
    pub(crate) async fn walk(
        &self,
        tenant: TenantId,
        from: EventId,
        limit: usize,
        ancestors: bool,
    ) -> Result<Vec<Stored>, ApiError> {
        if limit == 0 {
            self.own_event(tenant, from).await?;
            return Ok(Vec::new());
        }
        let events = if ancestors {
            self.timed("walk_ancestors", self.dag().walk_ancestors(from, limit))
                .await?
        } else {
            self.timed("walk_descendants", self.dag().walk_descendants(from, limit))
                .await?
        };
        // Parents never cross tenants, so the walk stays in `from`'s tenant.
        match events.first() {
            Some(first) if first.tenant_id == tenant => Ok(events),
            _ => Err(not_found(from)),
        }
    }

    pub(crate) async fn chain(
        &self,
        tenant: TenantId,
        correlation_id: EventId,
    ) -> Result<Vec<Stored>, ApiError> {
        self.timed(
            "find_correlation_chain",
            self.dag().find_correlation_chain(tenant, correlation_id),
        )
        .await
    }

    pub(crate) async fn by_kind(
        &self,
        tenant: TenantId,
        kind: EventKind,
        depths: (u32, u32),
        limit: usize,
    ) -> Result<Vec<Stored>, ApiError> {
        self.timed(
            "find_by_kind",
            self.dag()
                .find_by_kind_for_tenant(tenant, kind, depths.0, depths.1, limit),
        )
        .await
    }

    /// Acknowledges an event of `tenant`; returns it as stored after.
    pub(crate) async fn acknowledge(
        &self,
        tenant: TenantId,
        id: EventId,
        upstream: bool,
    ) -> Result<Stored, ApiError> {
        self.own_event(tenant, id).await?;
        self.timed("acknowledge", self.dag().acknowledge(id, upstream))
            .await?;
        if upstream {
            self.inner.notifier.poke();
        }
        self.timed("read", self.dag().read(id)).await
    }

    pub(crate) async fn unacknowledged(
        &self,
        tenant: TenantId,
        limit: usize,
    ) -> Result<Vec<Stored>, ApiError> {
        self.timed(
            "unacknowledged",
            self.dag().unacknowledged_for_tenant(tenant, limit),
        )
        .await
    }

    /// Sends a signal from an event of `tenant`. Every event the signal
    /// names must be the tenant's too.
    pub(crate) async fn signal(
        &self,
        tenant: TenantId,
        from: EventId,
        signal: UpstreamSignal,
    ) -> Result<(), ApiError> {
        self.own_event(tenant, from).await?;
        let named = match &signal {
            UpstreamSignal::Ack { event_id }
            | UpstreamSignal::CompensationComplete { event_id } => Some(*event_id),
            UpstreamSignal::ErrorPropagation {
                source_event_id, ..
            } => Some(*source_event_id),
            UpstreamSignal::Backpressure { .. } | UpstreamSignal::Cancel { .. } => None,
        };
        if let Some(named) = named {
            if named != from {
                self.own_event(tenant, named).await?;
            }
        }
        self.timed("signal_upstream", self.dag().signal_upstream(from, signal))
            .await?;
        self.inner.notifier.poke();
        Ok(())
    }

    pub(crate) async fn signals_of(
        &self,
        tenant: TenantId,
        id: EventId,
        limit: usize,
    ) -> Result<Vec<SignalRecord>, ApiError> {
        self.own_event(tenant, id).await?;
        self.timed("signals_of", self.dag().signals_of(id, limit))
            .await
    }

    /// The next position under `parent` (of `tenant`) on `lane`, the
    /// parent's lane when none is given.
    pub(crate) async fn next_position(
        &self,
        tenant: TenantId,
        parent: Option<EventId>,
        lane: Option<u32>,
    ) -> Result<DagPosition, ApiError> {
        let lane = match (parent, lane) {
            (_, Some(lane)) => lane,
            (Some(parent), None) => self.own_event(tenant, parent).await?.position().lane,
            (None, None) => 0,
        };
        self.timed(
            "next_position",
            self.dag().next_position_for_tenant(tenant, parent, lane),
        )
        .await
    }

    pub(crate) async fn events_after(
        &self,
        tenant: TenantId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<CursorEvent<RawJson>>, ApiError> {
        let page = self
            .timed(
                "events_after",
                self.dag().events_after(tenant, after, limit),
            )
            .await?;
        Ok(page
            .into_iter()
            .map(|entry| CursorEvent {
                cursor: entry.cursor,
                event: served(entry.event),
            })
            .collect())
    }

    pub(crate) async fn signals_after(
        &self,
        tenant: TenantId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<SignalRecord>, ApiError> {
        self.timed(
            "signals_after",
            self.dag().signals_after(tenant, after, limit),
        )
        .await
    }

    pub(crate) async fn verify(
        &self,
        tenant: TenantId,
        id: EventId,
    ) -> Result<Verification, ApiError> {
        self.own_event(tenant, id).await?;
        self.timed("verify_event", self.dag().verify_event(id))
            .await
    }

    pub(crate) async fn health(&self) -> Result<(), ApiError> {
        self.timed("check_health", self.dag().check_health()).await
    }
}

/// The event as the server answers it: a redacted event's payload is
/// always `null`. The stores read a redacted event without its payload,
/// but the answer to a re-append of one carries the caller's own payload
/// beside the mark (the draft's value); it is never echoed back, so that
/// no answer of this server looks as if the payload were still stored.
pub(crate) fn served(mut event: Stored) -> Stored {
    if event.redaction.is_some() {
        event.payload = RawJson::null();
    }
    event
}

pub(crate) fn not_found(event_id: EventId) -> ApiError {
    ApiError::Store(ErrorEffect::NotFound { event_id })
}
