//! The work queue (SPEC §9, docs/queues.md): claim with an optional long
//! poll, extend, release and acknowledge a lease, list and requeue dead
//! letters, and an event's queue state (for the explorer). Every call is
//! the caller's tenant's; another tenant's event is not found.
//!
//! Every limit of a body is in its schema and checked here exactly as the
//! schema states it, so that what the document accepts the server
//! accepts, and what it refuses the server refuses.

use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use eventdag::{AckLease, ClaimRequest, EventId, EventKind, LeaseRef, LeaseToken, QueueEntry};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::{parse_id, NoParams};
use crate::auth::Caller;
use crate::body::{BodyShape, JsonBody};
use crate::query::{Params, QueryParams};
use crate::{ApiError, AppState, ServerStore};

/// The longest long poll of one claim request. Short, so that one request
/// never nears a client's or proxy's timeout; a consumer loops.
pub(crate) const MAX_WAIT_MS: u64 = 1_000;
/// The longest lease or delay, in ms (`eventdag::MAX_LEASE`).
const MAX_LEASE_MS: u64 = 86_400_000;
/// The most characters of a consumer name: 50 characters are at most 200
/// bytes (`eventdag::MAX_CONSUMER_BYTES`), whatever they are.
const MAX_CONSUMER_CHARS: usize = 50;
/// The most events one claim asks for (`eventdag::MAX_CLAIM`).
const MAX_CLAIM_LIMIT: u32 = 1_000;
/// The highest attempt limit a request may set.
const MAX_ATTEMPTS: u32 = 1_000;
/// How often a waiting claim looks again without a wake-up: leases expire
/// and other nodes append without telling this one.
const POLL: Duration = Duration::from_millis(100);

fn uuid_schema(nullable: bool) -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let kind = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Uuid,
        )))
        .pattern(Some(crate::api_schemas::UUID_PATTERN))
        .build()
}

fn token_schema() -> utoipa::openapi::schema::Object {
    uuid_schema(false)
}

fn optional_uuid_schema() -> utoipa::openapi::schema::Object {
    uuid_schema(true)
}

/// `POST /v1/queue/claims`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClaimBody {
    /// Who claims, recorded on each lease: 1 to 50 characters.
    #[schema(min_length = 1, max_length = 50)]
    consumer: String,
    /// How many events at most (default 10).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1000)]
    limit: Option<u32>,
    /// Lease length in ms, judged by the store's clock.
    #[schema(minimum = 1, maximum = 86_400_000)]
    lease_ms: u64,
    /// Only events of this kind.
    #[serde(default)]
    #[schema(value_type = Option<u16>, minimum = 0, maximum = 65535)]
    kind: Option<u16>,
    /// Only events of this correlation chain.
    #[serde(default)]
    #[schema(schema_with = optional_uuid_schema)]
    correlation_id: Option<EventId>,
    /// Deliveries before an event is dead-lettered (default 5).
    #[serde(default)]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    max_attempts: Option<u32>,
    /// Send `ErrorPropagation` (code 0xDEAD = 57005) upstream from each
    /// event dead-lettered (default false).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    signal_dead_letters: Option<bool>,
    /// Long poll: when nothing is claimable, wait up to this many ms for
    /// work (default 0: answer at once).
    #[serde(default)]
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 1000)]
    wait_ms: Option<u64>,
}

/// `POST /v1/queue/leases/{id}/extend`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtendBody {
    /// The token the claim handed out.
    #[schema(schema_with = token_schema)]
    token: LeaseToken,
    /// The new lease, from now, in ms.
    #[schema(minimum = 1, maximum = 86_400_000)]
    lease_ms: u64,
}

/// `POST /v1/queue/leases/{id}/release`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseBody {
    /// The token the claim handed out.
    #[schema(schema_with = token_schema)]
    token: LeaseToken,
    /// Claimable again after this many ms (default 0: at once).
    #[serde(default)]
    #[schema(value_type = Option<u64>, minimum = 0, maximum = 86_400_000)]
    delay_ms: Option<u64>,
}

/// `POST /v1/queue/leases/{id}/ack`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AckBody {
    /// The token the claim handed out: refused (409) while another
    /// claim's lease is valid. Without one the acknowledgment is forced,
    /// as `POST /v1/events/{id}/ack`.
    #[serde(default)]
    #[schema(schema_with = optional_uuid_schema)]
    token: Option<LeaseToken>,
    /// Also send an `Ack` signal upstream (default false).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    upstream: Option<bool>,
}

impl BodyShape for ClaimBody {
    const OPENER: u8 = b'{';
}
impl BodyShape for ExtendBody {
    const OPENER: u8 = b'{';
}
impl BodyShape for ReleaseBody {
    const OPENER: u8 = b'{';
}
impl BodyShape for AckBody {
    const OPENER: u8 = b'{';
}

/// A lease as answered.
#[derive(Serialize, ToSchema)]
pub(crate) struct LeaseDoc {
    /// Its token: extend, release or acknowledge with it.
    #[schema(schema_with = token_schema)]
    token: String,
    /// Who holds it.
    consumer: String,
    /// When it ends, µs since the Unix epoch, by the store's clock.
    deadline: u64,
}

/// One claimed event.
#[derive(Serialize, ToSchema)]
pub(crate) struct ClaimedDoc {
    /// The event.
    event: crate::api_schemas::EventDoc,
    /// Which delivery this is, from 1.
    attempt: u32,
    /// The lease.
    lease: LeaseDoc,
}

/// An event's queue state.
#[derive(Serialize, ToSchema)]
pub(crate) struct QueueEntryDoc {
    /// The event's tenant.
    tenant_id: String,
    /// Deliveries so far (0: never claimed).
    attempts: u32,
    /// The latest lease (it may have expired); null once released or
    /// never claimed.
    lease: Option<LeaseDoc>,
    /// The consumer of the latest delivery.
    last_consumer: Option<String>,
    /// Not claimable before this time (a release with a delay), µs.
    available_at: u64,
    /// When it was dead-lettered, µs; null unless it is a dead letter.
    dead_lettered_at: Option<u64>,
}

/// A dead letter.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeadLetterDoc {
    /// The event (unacknowledged).
    event: crate::api_schemas::EventDoc,
    /// Deliveries it had.
    attempts: u32,
    /// When it was dead-lettered, µs.
    dead_lettered_at: u64,
    /// The consumer of its last delivery.
    last_consumer: Option<String>,
}

fn ms(field: &str, value: u64, low: u64, high: u64) -> Result<Duration, ApiError> {
    if value < low || value > high {
        return Err(ApiError::bad_request(
            field,
            format!("is {value}; accepted: {low} to {high} (ms)"),
        ));
    }
    Ok(Duration::from_millis(value))
}

fn in_range(field: &str, value: u32, low: u32, high: u32) -> Result<u32, ApiError> {
    if value < low || value > high {
        return Err(ApiError::bad_request(
            field,
            format!("is {value}; accepted: {low} to {high}"),
        ));
    }
    Ok(value)
}

impl ClaimBody {
    fn into_request(
        self,
        tenant_id: eventdag::TenantId,
    ) -> Result<(ClaimRequest, Duration), ApiError> {
        let chars = self.consumer.chars().count();
        if chars == 0 || chars > MAX_CONSUMER_CHARS {
            return Err(ApiError::bad_request(
                "consumer",
                format!("has {chars} characters; accepted: 1 to {MAX_CONSUMER_CHARS}"),
            ));
        }
        let limit = in_range("limit", self.limit.unwrap_or(10), 0, MAX_CLAIM_LIMIT)?;
        let lease = ms("lease_ms", self.lease_ms, 1, MAX_LEASE_MS)?;
        let wait = ms("wait_ms", self.wait_ms.unwrap_or(0), 0, MAX_WAIT_MS)?;
        let max_attempts = in_range(
            "max_attempts",
            self.max_attempts.unwrap_or(eventdag::DEFAULT_MAX_ATTEMPTS),
            1,
            MAX_ATTEMPTS,
        )?;
        let mut request = ClaimRequest::new(tenant_id, self.consumer, limit as usize, lease)
            .max_attempts(max_attempts)
            .signal_dead_letters(self.signal_dead_letters.unwrap_or(false));
        request.kind = self.kind.map(EventKind);
        request.correlation_id = self.correlation_id;
        Ok((request, wait))
    }
}

/// `POST /v1/queue/claims`: lease up to `limit` of the tenant's
/// unacknowledged REQUIRES_ACK events, oldest first.
#[utoipa::path(
    post, path = "/v1/queue/claims", tag = "queue",
    request_body(content = ClaimBody, description = "Who claims, how many, for how long, which events"),
    responses(
        (status = 200, description = "The events leased to this consumer, oldest first (empty: nothing claimable, after `wait_ms`)", body = Vec<ClaimedDoc>),
        (status = 400, description = "A field out of its range; the message names it", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "`storage_unavailable` or `timeout`: nothing was leased. `outcome_unknown`: the answer was lost; the leases, if taken, expire by themselves", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn claim_work<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(body): JsonBody<ClaimBody>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let (request, wait) = body.into_request(caller.tenant_id)?;
    let deadline = Instant::now() + wait;
    let mut wake = state.inner.notifier.subscribe();
    loop {
        let claimed = state
            .timed("claim", state.store().claim(request.clone()))
            .await?;
        let now = Instant::now();
        if !claimed.is_empty() || now >= deadline {
            let answer = claimed
                .into_iter()
                .map(|claimed| {
                    json!({
                        "event": claimed.event,
                        "attempt": claimed.attempt,
                        "lease": claimed.lease,
                    })
                })
                .collect();
            return Ok(Json(answer));
        }
        // Appends here poke the notifier; anything else (an expired
        // lease, another node's append) is seen on the next look.
        let nap = POLL.min(deadline - now);
        let _ = tokio::time::timeout(nap, wake.changed()).await;
    }
}

fn lease_ref(caller: &Caller, event_id: EventId, token: LeaseToken) -> LeaseRef {
    LeaseRef {
        tenant_id: caller.tenant_id,
        event_id,
        token,
    }
}

/// `POST /v1/queue/leases/{id}/extend`: heartbeat.
#[utoipa::path(
    post, path = "/v1/queue/leases/{id}/extend", tag = "queue",
    params(("id" = String, Path, description = "The leased event")),
    request_body(content = ExtendBody, description = "The claim's token and the new lease"),
    responses(
        (status = 200, description = "The lease with its new deadline", body = LeaseDoc),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
        (status = 409, description = "`lease_conflict`: the token is no longer the event's lease (claimed again, released, acknowledged or dead-lettered)", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn extend_lease<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(body): JsonBody<ExtendBody>,
) -> Result<Json<eventdag::Lease>, ApiError> {
    let id = parse_id("id", &id)?;
    let lease = ms("lease_ms", body.lease_ms, 1, MAX_LEASE_MS)?;
    let reference = lease_ref(&caller, id, body.token);
    Ok(Json(
        state
            .timed("extend_lease", state.store().extend_lease(reference, lease))
            .await?,
    ))
}

/// `POST /v1/queue/leases/{id}/release`: give the event back, now or
/// after a delay.
#[utoipa::path(
    post, path = "/v1/queue/leases/{id}/release", tag = "queue",
    params(("id" = String, Path, description = "The leased event")),
    request_body(content = ReleaseBody, description = "The claim's token and an optional delay"),
    responses(
        (status = 204, description = "Released: claimable again after the delay"),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
        (status = 409, description = "`lease_conflict`: the token is no longer the event's lease", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn release_lease<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(body): JsonBody<ReleaseBody>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("id", &id)?;
    let delay = ms("delay_ms", body.delay_ms.unwrap_or(0), 0, MAX_LEASE_MS)?;
    let reference = lease_ref(&caller, id, body.token);
    state
        .timed(
            "release_lease",
            state.store().release_lease(reference, delay),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/queue/leases/{id}/ack`: acknowledge through the queue.
#[utoipa::path(
    post, path = "/v1/queue/leases/{id}/ack", tag = "queue",
    params(("id" = String, Path, description = "The event to acknowledge")),
    request_body(content = AckBody, description = "The claim's token (none: forced) and whether to signal upstream"),
    responses(
        (status = 200, description = "The event after acknowledgment (idempotent); its queue state ends", body = crate::api_schemas::EventDoc),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
        (status = 409, description = "`lease_conflict`: another claim's lease is valid", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "`storage_unavailable` or `timeout`: nothing changed. `outcome_unknown`: read the event, or acknowledge again (idempotent)", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn acknowledge_lease<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(body): JsonBody<AckBody>,
) -> Result<Json<eventdag::Event<eventdag::RawJson>>, ApiError> {
    let id = parse_id("id", &id)?;
    let lease = body.token.map_or(AckLease::Forced, AckLease::Token);
    let upstream = body.upstream.unwrap_or(false);
    state
        .timed(
            "acknowledge",
            state
                .store()
                .acknowledge_leased(caller.tenant_id, id, lease, upstream),
        )
        .await?;
    if upstream {
        state.inner.notifier.poke();
    }
    Ok(Json(state.own_event(caller.tenant_id, id).await?))
}

/// `GET /v1/queue/events/{id}`: an event's lease and attempts.
#[utoipa::path(
    get, path = "/v1/queue/events/{id}", tag = "queue",
    params(("id" = String, Path, description = "Event")),
    responses(
        (status = 200, description = "Its queue state (attempts 0 and no lease: never claimed, or acknowledged through the queue)", body = QueueEntryDoc),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn queue_entry<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<QueueEntry>, ApiError> {
    let id = parse_id("id", &id)?;
    let entry = state
        .timed(
            "queue_entry",
            state.store().queue_entry(caller.tenant_id, id),
        )
        .await?;
    Ok(Json(
        entry.unwrap_or_else(|| QueueEntry::fresh(caller.tenant_id)),
    ))
}

/// `?after_id=ID&limit=N` (`after` is a cursor number elsewhere).
#[derive(Debug, Deserialize)]
pub(crate) struct DeadParams {
    after_id: Option<String>,
    #[serde(default, deserialize_with = "crate::query::saturating_limit")]
    limit: Option<usize>,
}

impl Params for DeadParams {
    const NAMES: &'static [&'static str] = &["after_id", "limit"];
}

/// `GET /v1/queue/dead-letters?after_id=ID&limit=N`.
#[utoipa::path(
    get, path = "/v1/queue/dead-letters", tag = "queue",
    params(
        ("after_id" = Option<String>, Query, description = "Resume after this event id (the last one seen)"),
        ("limit" = Option<usize>, Query, description = "Default 100, capped at the server's max limit"),
    ),
    responses(
        (status = 200, description = "The tenant's dead letters by event id", body = Vec<DeadLetterDoc>),
    )
)]
pub(crate) async fn list_dead_letters<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(params): QueryParams<DeadParams>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let after = params
        .after_id
        .as_deref()
        .map(|text| parse_id("after_id", text))
        .transpose()?;
    let limit = state.config().limit(params.limit);
    let letters = state
        .timed(
            "dead_letters",
            state.store().dead_letters(caller.tenant_id, after, limit),
        )
        .await?;
    Ok(Json(
        letters
            .into_iter()
            .map(|letter| {
                json!({
                    "event": letter.event,
                    "attempts": letter.attempts,
                    "dead_lettered_at": letter.dead_lettered_at,
                    "last_consumer": letter.last_consumer,
                })
            })
            .collect(),
    ))
}

/// `POST /v1/queue/dead-letters/{id}/requeue`.
#[utoipa::path(
    post, path = "/v1/queue/dead-letters/{id}/requeue", tag = "queue",
    params(("id" = String, Path, description = "The dead letter")),
    responses(
        (status = 204, description = "Back in the queue with its attempts reset to 0"),
        (status = 404, description = "Not a dead letter of this tenant (unknown, another tenant's, or not dead-lettered)", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn requeue_dead_letter<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("id", &id)?;
    state
        .timed("requeue", state.store().requeue(caller.tenant_id, id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
