//! [`WorkQueue`] over HTTP: the `/v1/queue` routes (docs/queues.md).
//!
//! Which calls repeat after a lost answer:
//! - `extend_lease` and `acknowledge_leased` are idempotent (a second
//!   extension moves the deadline again from now; a second
//!   acknowledgment changes nothing and sends no second `Ack`), and
//!   `dead_letters` and `queue_entry` are reads: retried;
//! - `claim` would lease more events, and a repeated `release_lease` or
//!   `requeue` would be refused for a lease or dead letter the first one
//!   ended: sent once, a lost answer is `OutcomeUnknown`.
//!
//! Durations travel in whole milliseconds (the routes' unit), rounded
//! up, so a lease is never shorter than asked.

use std::time::Duration;

use async_trait::async_trait;
use eventdag::{
    check_duration, AckLease, ClaimRequest, Claimed, DeadLetter, Effect, Event, EventId, Lease,
    LeaseRef, QueueEntry, TenantId, WorkQueue, MAX_CLAIM,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::dag::Payload;
use crate::remote::subject;
use crate::retry::Safety;
use crate::transport::Call;
use crate::RemoteDag;

/// One element of a claim's answer.
#[derive(Deserialize)]
#[serde(bound = "P: Payload")]
struct ClaimedBody<P> {
    event: Event<P>,
    attempt: u32,
    lease: Lease,
}

/// One element of the dead-letter listing.
#[derive(Deserialize)]
#[serde(bound = "P: Payload")]
struct DeadLetterBody<P> {
    event: Event<P>,
    attempts: u32,
    dead_lettered_at: u64,
    last_consumer: Option<String>,
}

/// `POST /v1/queue/claims`.
#[derive(Serialize)]
struct ClaimBody<'a> {
    consumer: &'a str,
    limit: usize,
    lease_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<EventId>,
    max_attempts: u32,
    signal_dead_letters: bool,
}

/// Whole milliseconds, rounded up.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros().div_ceil(1_000)).unwrap_or(u64::MAX)
}

impl<P: Payload> RemoteDag<P> {
    /// A `POST` of the JSON `body` about `event_id`.
    fn queue_post(
        path: String,
        body: &serde_json::Value,
        safety: Safety,
        operation: &'static str,
        event_id: EventId,
    ) -> Call {
        // A `Value` built with `json!` always encodes.
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        Call::post(path, Some(bytes), safety, subject(operation, event_id))
    }

    /// Checks a lease reference's tenant before anything is sent.
    fn check_lease(&self, lease: &LeaseRef) -> Result<(), eventdag::ErrorEffect> {
        self.check_tenant(lease.tenant_id)
    }
}

#[async_trait]
impl<P: Payload> WorkQueue for RemoteDag<P> {
    /// `POST /v1/queue/claims` without a long poll. Sent once.
    async fn claim(&self, request: ClaimRequest) -> Effect<Vec<Claimed<P>>> {
        if let Err(error) = self
            .check_tenant(request.tenant_id)
            .and_then(|()| request.validate())
        {
            return Effect::Err(error);
        }
        let limit = request.limit.min(MAX_CLAIM);
        if limit == 0 {
            return Effect::Ok(Vec::new());
        }
        let body = ClaimBody {
            consumer: &request.consumer,
            limit,
            lease_ms: millis(request.lease),
            kind: request.kind.map(|kind| kind.0),
            correlation_id: request.correlation_id,
            max_attempts: request.max_attempts,
            signal_dead_letters: request.signal_dead_letters,
        };
        let bytes = match serde_json::to_vec(&body) {
            Ok(bytes) => bytes,
            Err(error) => {
                return Effect::Err(eventdag::ErrorEffect::invalid("request", error.to_string()))
            }
        };
        let call = Call::post(
            "/v1/queue/claims".to_owned(),
            Some(bytes),
            Safety::Once,
            subject("claim", Uuid::nil()),
        );
        self.get::<Vec<ClaimedBody<P>>>(call).await.map(|claimed| {
            claimed
                .into_iter()
                .map(|claimed| Claimed {
                    event: claimed.event,
                    attempt: claimed.attempt,
                    lease: claimed.lease,
                })
                .collect()
        })
    }

    /// `POST /v1/queue/leases/{id}/extend`. Retried.
    async fn extend_lease(&self, lease: LeaseRef, duration: Duration) -> Effect<Lease> {
        if let Err(error) = self
            .check_lease(&lease)
            .and_then(|()| check_duration("lease", duration, false))
        {
            return Effect::Err(error);
        }
        let body = json!({"token": lease.token, "lease_ms": millis(duration)});
        self.get(Self::queue_post(
            format!("/v1/queue/leases/{}/extend", lease.event_id),
            &body,
            Safety::Idempotent,
            "extend_lease",
            lease.event_id,
        ))
        .await
    }

    /// `POST /v1/queue/leases/{id}/release`. Sent once.
    async fn release_lease(&self, lease: LeaseRef, delay: Duration) -> Effect<()> {
        if let Err(error) = self
            .check_lease(&lease)
            .and_then(|()| check_duration("delay", delay, true))
        {
            return Effect::Err(error);
        }
        let body = json!({"token": lease.token, "delay_ms": millis(delay)});
        self.get(Self::queue_post(
            format!("/v1/queue/leases/{}/release", lease.event_id),
            &body,
            Safety::Once,
            "release_lease",
            lease.event_id,
        ))
        .await
    }

    /// `POST /v1/queue/leases/{id}/ack` (no token: forced). Retried.
    async fn acknowledge_leased(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        lease: AckLease,
        send_upstream: bool,
    ) -> Effect<()> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        let token = match lease {
            AckLease::Token(token) => Some(token),
            AckLease::Forced => None,
        };
        let body = json!({"token": token, "upstream": send_upstream});
        self.get::<serde::de::IgnoredAny>(Self::queue_post(
            format!("/v1/queue/leases/{event_id}/ack"),
            &body,
            Safety::Idempotent,
            "acknowledge",
            event_id,
        ))
        .await
        .map(|_| ())
    }

    /// `GET /v1/queue/dead-letters?after_id=…&limit=N`.
    async fn dead_letters(
        &self,
        tenant_id: TenantId,
        after: Option<EventId>,
        limit: usize,
    ) -> Effect<Vec<DeadLetter<P>>> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        if limit == 0 {
            return Effect::Ok(Vec::new());
        }
        let mut call = Call::get(
            "/v1/queue/dead-letters".to_owned(),
            subject("dead_letters", Uuid::nil()),
        )
        .query("limit", limit);
        if let Some(after) = after {
            call = call.query("after_id", after);
        }
        self.get::<Vec<DeadLetterBody<P>>>(call)
            .await
            .map(|letters| {
                letters
                    .into_iter()
                    .map(|letter| DeadLetter {
                        event: letter.event,
                        attempts: letter.attempts,
                        dead_lettered_at: letter.dead_lettered_at,
                        last_consumer: letter.last_consumer,
                    })
                    .collect()
            })
    }

    /// `POST /v1/queue/dead-letters/{id}/requeue`. Sent once.
    async fn requeue(&self, tenant_id: TenantId, event_id: EventId) -> Effect<()> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        self.get(Call::post(
            format!("/v1/queue/dead-letters/{event_id}/requeue"),
            None,
            Safety::Once,
            subject("requeue", event_id),
        ))
        .await
    }

    /// `GET /v1/queue/events/{id}`. The server answers an event without
    /// queue state with the state of one never claimed; that is `None`
    /// here, as from the stores.
    async fn queue_entry(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
    ) -> Effect<Option<QueueEntry>> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        let call = Call::get(
            format!("/v1/queue/events/{event_id}"),
            subject("queue_entry", event_id),
        );
        self.get::<QueueEntry>(call)
            .await
            .map(|entry| (entry != QueueEntry::fresh(entry.tenant_id)).then_some(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::millis;
    use std::time::Duration;

    #[test]
    fn durations_round_up_to_whole_milliseconds() {
        assert_eq!(millis(Duration::from_micros(1)), 1);
        assert_eq!(millis(Duration::from_millis(250)), 250);
        assert_eq!(millis(Duration::from_micros(250_001)), 251);
        assert_eq!(millis(Duration::ZERO), 0);
    }
}
