//! [`EventDag`] over HTTP: each method is one route of SPEC §7.

use async_trait::async_trait;
use eventdag::{
    DagPosition, DagStore, Effect, Event, EventDag, EventId, EventKind, NewEvent, UpstreamSignal,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::remote::subject;
use crate::retry::Safety;
use crate::transport::Call;
use crate::RemoteDag;

/// The payloads a client carries: what the embedded stores take.
pub trait Payload: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}
impl<P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> Payload for P {}

#[async_trait]
impl<P: Payload> EventDag for RemoteDag<P> {
    type Payload = P;

    /// `POST /v1/events` with the event's position (checked by the store).
    async fn append(&self, event: Event<P>) -> Effect<EventId> {
        eventdag::backend::single_id(self.append_events(vec![NewEvent::from(event)]).await)
    }

    /// `GET /v1/events/{id}`.
    async fn read(&self, event_id: EventId) -> Effect<Event<P>> {
        self.get(Call::get(
            format!("/v1/events/{event_id}"),
            subject("read", event_id),
        ))
        .await
    }

    /// `GET /v1/events/{id}/ancestors?limit=N`.
    async fn walk_ancestors(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        self.walk(from, limit, "ancestors").await
    }

    /// `GET /v1/events/{id}/descendants?limit=N`.
    async fn walk_descendants(&self, from: EventId, limit: usize) -> Effect<Vec<Event<P>>> {
        self.walk(from, limit, "descendants").await
    }

    /// `POST /v1/events/{id}/signals`. Sent once: a repeat would store
    /// the signal twice, so a lost answer is `OutcomeUnknown`.
    async fn signal_upstream(&self, from: EventId, signal: UpstreamSignal) -> Effect<()> {
        let body = match serde_json::to_vec(&signal) {
            Ok(body) => body,
            Err(error) => {
                return Effect::Err(eventdag::ErrorEffect::invalid("signal", error.to_string()))
            }
        };
        let call = Call::post(
            format!("/v1/events/{from}/signals"),
            Some(body),
            Safety::Once,
            subject("signal_upstream", from),
        );
        self.get::<serde::de::IgnoredAny>(call).await.map(|_| ())
    }

    /// `GET /v1/correlations/{id}/events`.
    async fn find_correlation_chain(
        &self,
        tenant_id: Uuid,
        correlation_id: EventId,
    ) -> Effect<Vec<Event<P>>> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        self.get(Call::get(
            format!("/v1/correlations/{correlation_id}/events"),
            subject("find_correlation_chain", correlation_id),
        ))
        .await
    }

    /// `GET /v1/next-position?parent=ID&lane=L`.
    async fn next_position(&self, parent: Option<EventId>, lane: u32) -> Effect<DagPosition> {
        let mut call = Call::get(
            "/v1/next-position".to_owned(),
            subject("next_position", parent.unwrap_or_default()),
        )
        .query("lane", lane);
        if let Some(parent) = parent {
            call = call.query("parent", parent);
        }
        self.get(call).await
    }

    /// `GET /v1/events?kind=K&min_depth=A&max_depth=B&limit=N`, within
    /// the key's tenant.
    async fn find_by_kind(
        &self,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        if limit == 0 {
            return Effect::Ok(Vec::new());
        }
        let call = Call::get(
            "/v1/events".to_owned(),
            subject("find_by_kind", Uuid::nil()),
        )
        .query("kind", kind.0)
        .query("min_depth", min_depth)
        .query("max_depth", max_depth)
        .query("limit", limit);
        self.get(call).await
    }

    /// `POST /v1/events/{id}/ack?upstream=…`. Retried when the answer is
    /// lost: acknowledging is idempotent, and only the first
    /// acknowledgment sends the `Ack` upstream.
    async fn acknowledge(&self, event_id: EventId, send_upstream: bool) -> Effect<()> {
        let call = Call::post(
            format!("/v1/events/{event_id}/ack"),
            None,
            Safety::Idempotent,
            subject("acknowledge", event_id),
        )
        .query("upstream", send_upstream);
        self.get::<serde::de::IgnoredAny>(call).await.map(|_| ())
    }

    /// `GET /v1/unacknowledged?limit=N`, within the key's tenant.
    async fn unacknowledged(&self, limit: usize) -> Effect<Vec<Event<P>>> {
        if limit == 0 {
            return Effect::Ok(Vec::new());
        }
        let call = Call::get(
            "/v1/unacknowledged".to_owned(),
            subject("unacknowledged", Uuid::nil()),
        )
        .query("limit", limit);
        self.get(call).await
    }

    /// [`EventDag::find_by_kind`]: the server answers for one tenant only.
    async fn find_by_kind_for_tenant(
        &self,
        tenant_id: Uuid,
        kind: EventKind,
        min_depth: u32,
        max_depth: u32,
        limit: usize,
    ) -> Effect<Vec<Event<P>>> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        self.find_by_kind(kind, min_depth, max_depth, limit).await
    }
}

impl<P: Payload> RemoteDag<P> {
    async fn walk(&self, from: EventId, limit: usize, direction: &str) -> Effect<Vec<Event<P>>> {
        let operation = if direction == "ancestors" {
            "walk_ancestors"
        } else {
            "walk_descendants"
        };
        if limit == 0 {
            // The store answers an unknown `from` with not-found even at
            // limit 0; the server would take 0 as its default, so the
            // existence check is a read.
            return self.read(from).await.map(|_| Vec::new());
        }
        let call = Call::get(
            format!("/v1/events/{from}/{direction}"),
            subject(operation, from),
        )
        .query("limit", limit);
        self.get(call).await
    }
}
