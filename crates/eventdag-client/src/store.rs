//! [`DagStore`] over HTTP: batch and assigned appends, the tenant-scoped
//! queries, signal listings, health and the records verification reads.
//! What the API has no request/response route for (`events_after`,
//! `signals_after`, `chain_state`) answers `InvalidInput` naming what to
//! use instead; the live streams ([`RemoteDag::event_stream`],
//! [`RemoteDag::signal_stream`]) serve the first two.

use async_trait::async_trait;
use eventdag::backend::StoredRecord;
use eventdag::{
    ChainState, CursorEvent, DagPosition, DagStore, Effect, ErrorEffect, Event, EventId, NewEvent,
    SignalRecord, TenantId, MAX_BATCH_EVENTS,
};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::dag::Payload;
use crate::remote::subject;
use crate::retry::Safety;
use crate::transport::Call;
use crate::wire::DraftBody;
use crate::RemoteDag;

#[async_trait]
impl<P: Payload> DagStore for RemoteDag<P> {
    /// `POST /v1/events:batch` (one draft: `POST /v1/events`). Retried
    /// after a lost answer only when every draft has an id (chosen here
    /// unless [`crate::RemoteDagBuilder::assign_ids`] is off): the store
    /// answers a repeat with what it stored the first time.
    async fn append_events(&self, mut drafts: Vec<NewEvent<P>>) -> Effect<Vec<Event<P>>> {
        if drafts.is_empty() {
            return Effect::Ok(Vec::new());
        }
        if drafts.len() > MAX_BATCH_EVENTS {
            return Effect::Err(ErrorEffect::invalid(
                "drafts",
                format!(
                    "a batch of {} events is too large; at most {MAX_BATCH_EVENTS} are accepted",
                    drafts.len()
                ),
            ));
        }
        if self.assign_ids {
            for draft in &mut drafts {
                draft.id.get_or_insert_with(Uuid::now_v7);
            }
        }
        let safety = if drafts.iter().all(|draft| draft.id.is_some()) {
            Safety::Idempotent
        } else {
            Safety::Once
        };
        let first = subject("append", drafts[0].id.unwrap_or_default());
        let encoded = if let [draft] = drafts.as_slice() {
            DraftBody::of(draft, self.tenant).and_then(|body| encode(&body))
        } else {
            drafts
                .iter()
                .map(|draft| DraftBody::of(draft, self.tenant))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|bodies| encode(&bodies))
        };
        let body = match encoded {
            Ok(body) => body,
            Err(error) => return Effect::Err(error),
        };
        if drafts.len() == 1 {
            let call = Call::post("/v1/events".to_owned(), Some(body), safety, first);
            self.get::<Event<P>>(call).await.map(|event| vec![event])
        } else {
            self.get(Call::post(
                "/v1/events:batch".to_owned(),
                Some(body),
                safety,
                first,
            ))
            .await
        }
    }

    /// `GET /v1/next-position` (the key decides the tenant).
    async fn next_position_for_tenant(
        &self,
        tenant_id: TenantId,
        parent: Option<EventId>,
        lane: u32,
    ) -> Effect<DagPosition> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        eventdag::EventDag::next_position(self, parent, lane).await
    }

    /// `GET /v1/unacknowledged` (the key decides the tenant).
    async fn unacknowledged_for_tenant(
        &self,
        tenant_id: TenantId,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        eventdag::EventDag::unacknowledged(self, limit).await
    }

    /// `GET /v1/events/{id}/signals?limit=N`.
    async fn signals_of(&self, event_id: EventId, limit: usize) -> Effect<Vec<SignalRecord>> {
        if limit == 0 {
            return eventdag::EventDag::read(self, event_id)
                .await
                .map(|_| Vec::new());
        }
        let call = Call::get(
            format!("/v1/events/{event_id}/signals"),
            subject("signals_of", event_id),
        )
        .query("limit", limit);
        self.get(call).await
    }

    /// Not served as a request: follow [`RemoteDag::signal_stream`].
    async fn signals_after(
        &self,
        _tenant_id: TenantId,
        _after: u64,
        _limit: usize,
    ) -> Effect<Vec<SignalRecord>> {
        Effect::Err(not_served(
            "signals_after",
            "RemoteDag::signal_stream (GET /v1/streams/signals?after=N)",
        ))
    }

    /// Not served as a request: follow [`RemoteDag::event_stream`].
    async fn events_after(
        &self,
        _tenant_id: TenantId,
        _after: u64,
        _limit: usize,
    ) -> Effect<Vec<CursorEvent<P>>> {
        Effect::Err(not_served(
            "events_after",
            "RemoteDag::event_stream (GET /v1/streams/events?after=N)",
        ))
    }

    /// Not served: appends into a cancelled or held chain answer 409
    /// `cancelled` or 429 themselves.
    async fn chain_state(
        &self,
        _tenant_id: TenantId,
        _correlation_id: EventId,
    ) -> Effect<ChainState> {
        Effect::Err(not_served(
            "chain_state",
            "the answers of appends (ChainCancelled, Effect::Retry) or the signals of the chain",
        ))
    }

    /// `GET /healthz`: `Ok` when the server and its storage answer.
    async fn check_health(&self) -> Effect<()> {
        let call = Call::get("/healthz".to_owned(), subject("check_health", Uuid::nil()));
        self.get::<serde::de::IgnoredAny>(call).await.map(|_| ())
    }

    /// `GET /v1/events/{id}`, its payload kept as the exact JSON text the
    /// server sent, so that [`eventdag::EventDagExt::verify_event`]
    /// checks here, end to end, what the server holds.
    async fn stored_record(&self, event_id: EventId) -> Effect<StoredRecord> {
        let call = Call::get(
            format!("/v1/events/{event_id}"),
            subject("stored_record", event_id),
        );
        self.get::<Event<Box<RawValue>>>(call).await.map(record)
    }

    /// `GET /v1/correlations/{id}/events`, payloads as sent.
    async fn chain_records(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Effect<Vec<StoredRecord>> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        let call = Call::get(
            format!("/v1/correlations/{correlation_id}/events"),
            subject("chain_records", correlation_id),
        );
        self.get::<Vec<Event<Box<RawValue>>>>(call)
            .await
            .map(|events| events.into_iter().map(record).collect())
    }
}

/// The record of an event as the server serves it: the payload's bytes
/// are the served text (the server serves the stored bytes), none for a
/// redacted event, whose mark carries the kept payload hash.
fn record(event: Event<Box<RawValue>>) -> StoredRecord {
    let payload_bytes = match event.redaction {
        Some(_) => Vec::new(),
        None => event.payload.get().as_bytes().to_vec(),
    };
    StoredRecord {
        header: event.header,
        tenant_id: event.tenant_id,
        parents: event.parents,
        payload_bytes,
        hash: event.hash,
        hash_version: event.hash_version,
        redaction: event.redaction,
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ErrorEffect> {
    serde_json::to_vec(value).map_err(|error| {
        ErrorEffect::invalid("payload", format!("does not encode as JSON: {error}"))
    })
}

fn not_served(operation: &str, instead: &str) -> ErrorEffect {
    ErrorEffect::invalid(
        "operation",
        format!("{operation} has no request route in the HTTP API; use {instead}"),
    )
}
