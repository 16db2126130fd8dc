//! Forgetting (SPEC §10, docs/server.md): redaction and retention for the
//! key's tenant, chain removal, and the administrator's tenant erasure.
//!
//! Who may do what: any key of a tenant may redact that tenant's events,
//! set, read and remove its retention policy, run it and remove one of
//! its chains (another tenant's event or chain is not found). Only the
//! administrator key (`admin_key`) reaches `/v1/admin`; a tenant key is
//! refused there like any wrong key.
//!
//! Every limit of a body is in its schema and checked here exactly as the
//! schema states it (the stores' own checks stay behind them).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use eventdag::{ChainRemoval, EventKind, RawJson, RetentionPolicy, RetentionRule, TenantId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{parse_id, NoParams};
use crate::auth::Caller;
use crate::body::{BodyShape, JsonBody};
use crate::query::{Params, QueryParams};
use crate::retention::{RunAnswer, Trigger};
use crate::{ApiError, AppState, ServerStore};

/// The most characters of a redaction reason: 250 characters are at most
/// 1,000 bytes (`eventdag::MAX_REDACTION_REASON_BYTES`), whatever they are.
pub(crate) const MAX_REASON_CHARS: usize = 250;

/// The longest `max_age_seconds` (the store's limit: µs must fit in u64).
const MAX_AGE_SECONDS: u64 = u64::MAX / 1_000_000;

/// `POST /v1/events/{id}/redact`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedactBody {
    /// Why the payload is removed (kept in the mark): 1 to 250
    /// characters, not only white space, no control characters. The
    /// pattern checks "no control character" with a lookahead, since a
    /// JSON Schema `$` would also match before a final newline.
    #[schema(
        min_length = 1,
        max_length = 250,
        pattern = r"^(?![\s\S]*[\u0000-\u001f\u007f-\u009f])[\s\S]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    reason: String,
}

impl BodyShape for RedactBody {
    const OPENER: u8 = b'{';
}

/// One rule of `PUT /v1/retention`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionRuleBody {
    /// The root kind the rule applies to; absent or null for every kind.
    #[serde(default)]
    #[schema(value_type = Option<u16>, minimum = 0, maximum = 65535)]
    kind: Option<u16>,
    /// A chain goes once its newest event is older than this.
    #[schema(minimum = 1, maximum = 18_446_744_073_709_u64)]
    max_age_seconds: u64,
}

/// `PUT /v1/retention`: a tenant's retention policy. The first rule whose
/// kind matches a chain's root decides; a chain no rule matches is kept.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionPolicyBody {
    /// 1 to 100 rules, tried in order.
    #[schema(min_items = 1, max_items = 100)]
    rules: Vec<RetentionRuleBody>,
}

impl BodyShape for RetentionPolicyBody {
    const OPENER: u8 = b'{';
}

impl RetentionPolicyBody {
    fn of(policy: &RetentionPolicy) -> Self {
        Self {
            rules: policy
                .rules
                .iter()
                .map(|rule| RetentionRuleBody {
                    kind: rule.kind.map(|kind| kind.0),
                    max_age_seconds: rule.max_age_seconds,
                })
                .collect(),
        }
    }

    /// The policy, checked as the schema says.
    pub(crate) fn into_policy(self) -> Result<RetentionPolicy, ApiError> {
        if self.rules.is_empty() || self.rules.len() > eventdag::MAX_RETENTION_RULES {
            return Err(ApiError::bad_request(
                "rules",
                format!(
                    "a policy has {} rules: accepted 1 to {} (to keep everything, DELETE /v1/retention)",
                    self.rules.len(),
                    eventdag::MAX_RETENTION_RULES
                ),
            ));
        }
        let mut rules = Vec::with_capacity(self.rules.len());
        for (index, rule) in self.rules.into_iter().enumerate() {
            if rule.max_age_seconds == 0 || rule.max_age_seconds > MAX_AGE_SECONDS {
                return Err(ApiError::bad_request(
                    format!("rules[{index}].max_age_seconds"),
                    format!("accepted 1 to {MAX_AGE_SECONDS} seconds"),
                ));
            }
            rules.push(RetentionRule {
                kind: rule.kind.map(EventKind),
                max_age_seconds: rule.max_age_seconds,
            });
        }
        Ok(RetentionPolicy { rules })
    }
}

/// The answer of `GET`/`PUT /v1/retention`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RetentionDoc {
    /// The key's tenant.
    #[schema(format = Uuid)]
    tenant_id: String,
    /// Its policy.
    policy: RetentionPolicyBody,
}

fn policy_answer(tenant: TenantId, policy: &RetentionPolicy) -> Json<RetentionDoc> {
    Json(RetentionDoc {
        tenant_id: tenant.to_string(),
        policy: RetentionPolicyBody::of(policy),
    })
}

fn no_policy(tenant: TenantId) -> ApiError {
    ApiError::NotFound(format!(
        "tenant {tenant} has no retention policy: everything is kept (PUT /v1/retention sets one)"
    ))
}

/// `POST /v1/events/{id}/redact`: removes the payload, keeps the event.
#[utoipa::path(
    post, path = "/v1/events/{id}/redact", tag = "forgetting",
    params(("id" = String, Path, description = "The event whose payload is removed")),
    request_body = RedactBody,
    responses(
        (status = 200, description = "The event as now stored: `redaction` {reason, redacted_at, payload_hash} set, `payload` null; header, parents and hash unchanged. Redacting a redacted event changes nothing and answers the first mark (idempotent)", body = crate::api_schemas::EventDoc),
        (status = 400, description = "Invalid reason: empty, only white space, over 250 characters or with a control character", body = crate::api_schemas::ErrorDoc),
        (status = 404, description = "Unknown, or another tenant's", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "`storage_unavailable` or `timeout`: nothing changed. `outcome_unknown`: read the event, or redact again (idempotent)", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn redact<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(body): JsonBody<RedactBody>,
) -> Result<Json<eventdag::Event<RawJson>>, ApiError> {
    let id = parse_id("id", &id)?;
    let chars = body.reason.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(ApiError::bad_request(
            "reason",
            format!(
                "reason of {chars} characters is too long: accepted at most {MAX_REASON_CHARS}"
            ),
        ));
    }
    Ok(Json(state.redact(caller.tenant_id, id, body.reason).await?))
}

/// `GET /v1/retention`.
#[utoipa::path(
    get, path = "/v1/retention", tag = "forgetting",
    responses(
        (status = 200, description = "The key's tenant's retention policy", body = RetentionDoc),
        (status = 404, description = "The tenant has no policy: everything is kept", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn get_retention<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Json<RetentionDoc>, ApiError> {
    let tenant = caller.tenant_id;
    match state.retention_policy(tenant).await? {
        Some(policy) => Ok(policy_answer(tenant, &policy)),
        None => Err(no_policy(tenant)),
    }
}

/// `PUT /v1/retention`.
#[utoipa::path(
    put, path = "/v1/retention", tag = "forgetting",
    request_body = RetentionPolicyBody,
    responses(
        (status = 200, description = "The policy as stored (it replaces the previous one)", body = RetentionDoc),
        (status = 400, description = "Invalid policy: no rule, over 100, an age of 0 or beyond the limit, a kind beyond 65535; the message names the rule", body = crate::api_schemas::ErrorDoc),
        (status = 413, description = "Body too large", body = crate::api_schemas::ErrorDoc),
        (status = 415, description = "The body is not sent as Content-Type: application/json", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn put_retention<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
    JsonBody(body): JsonBody<RetentionPolicyBody>,
) -> Result<Json<RetentionDoc>, ApiError> {
    let policy = body.into_policy()?;
    state
        .set_retention_policy(caller.tenant_id, Some(policy.clone()))
        .await?;
    Ok(policy_answer(caller.tenant_id, &policy))
}

/// `DELETE /v1/retention`.
#[utoipa::path(
    delete, path = "/v1/retention", tag = "forgetting",
    responses(
        (status = 204, description = "The tenant has no policy now (also when it had none)"),
    )
)]
pub(crate) async fn delete_retention<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<StatusCode, ApiError> {
    state.set_retention_policy(caller.tenant_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?dry_run=true|false`.
#[derive(Debug, Deserialize)]
pub(crate) struct RunParams {
    dry_run: Option<bool>,
}

impl Params for RunParams {
    const NAMES: &'static [&'static str] = &["dry_run"];
}

/// `POST /v1/retention/run?dry_run=true|false`.
#[utoipa::path(
    post, path = "/v1/retention/run", tag = "forgetting",
    params(("dry_run" = Option<bool>, Query, description = "true (the default): only plan, remove nothing; false: remove what the plan lists")),
    responses(
        (status = 200, description = "The plan (what goes, and the old chains kept with the reason), and for a real run the report and the archive file written on the server (`retention_archive_dir`)", body = crate::api_schemas::RetentionRunDoc),
        (status = 404, description = "The tenant has no policy", body = crate::api_schemas::ErrorDoc),
        (status = 503, description = "Storage unavailable, timeout, or the archive could not be written: the chains removed before the failure stay removed, the others are untouched; run again", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn run_retention<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(params): QueryParams<RunParams>,
) -> Result<Json<RunAnswer>, ApiError> {
    let tenant = caller.tenant_id;
    let policy = state
        .retention_policy(tenant)
        .await?
        .ok_or_else(|| no_policy(tenant))?;
    // A dry run unless asked otherwise: a POST without parameters must
    // not remove anything.
    let dry_run = params.dry_run.unwrap_or(true);
    Ok(Json(
        state
            .run_retention(tenant, &policy, dry_run, Trigger::Request)
            .await?,
    ))
}

/// The largest `older_than`: µs timestamps are signed 64-bit on
/// PostgreSQL (year 294,247).
pub(crate) const MAX_OLDER_THAN: u64 = 0x7fff_ffff_ffff_ffff;

/// `?older_than=µs`.
#[derive(Debug, Deserialize)]
pub(crate) struct RemoveParams {
    older_than: u64,
}

impl Params for RemoveParams {
    const NAMES: &'static [&'static str] = &["older_than"];
}

/// `DELETE /v1/correlations/{correlation_id}?older_than=µs`.
#[utoipa::path(
    delete, path = "/v1/correlations/{correlation_id}", tag = "forgetting",
    params(
        ("correlation_id" = String, Path, description = "The chain"),
        ("older_than" = u64, Query, description = "µs since the Unix epoch: every event of the chain must be older"),
    ),
    responses(
        (status = 200, description = "`{\"outcome\": \"removed\", \"events\": N}`, or `{\"outcome\": \"kept\", \"reason\": \"too_young\" | \"unacknowledged\" | \"dependent\" | \"empty\", …}`: checked inside one write, so a chain is removed whole or not at all (an unknown or another tenant's chain is `empty`)", body = crate::api_schemas::ChainRemovalDoc),
    )
)]
pub(crate) async fn remove_chain<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(correlation_id): Path<String>,
    QueryParams(params): QueryParams<RemoveParams>,
) -> Result<Json<ChainRemoval>, ApiError> {
    let correlation_id = parse_id("correlation_id", &correlation_id)?;
    if params.older_than > MAX_OLDER_THAN {
        // PostgreSQL keeps timestamps as bigint: one limit for every
        // backend, the one the schema states.
        return Err(ApiError::bad_request(
            "older_than",
            format!(
                "{} is too large; accepted: at most {MAX_OLDER_THAN}",
                params.older_than
            ),
        ));
    }
    Ok(Json(
        state
            .remove_chain(caller.tenant_id, correlation_id, params.older_than)
            .await?,
    ))
}

/// The answer of a tenant erasure.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErasureDoc {
    /// The erased tenant.
    #[schema(format = Uuid)]
    tenant_id: String,
    /// Events removed.
    events: u64,
    /// API keys removed (they stop working at once).
    api_keys: u64,
    /// Whether the tenant's registry entry existed.
    registered: bool,
}

/// The tenant a path names: its id, or its registered name.
async fn named_tenant<S: ServerStore>(
    state: &AppState<S>,
    tenant: &str,
) -> Result<TenantId, ApiError> {
    if let Ok(id) = TenantId::parse_str(tenant) {
        return Ok(id);
    }
    let tenants = state
        .timed("list_tenants", state.store().list_tenants())
        .await?;
    tenants
        .into_iter()
        .find(|record| record.name == tenant)
        .map(|record| record.tenant_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no tenant is named {tenant:?}: give a registered name or a tenant id"
            ))
        })
}

/// `DELETE /v1/admin/tenants/{tenant}`: erases a tenant (administrator
/// only).
#[utoipa::path(
    delete, path = "/v1/admin/tenants/{tenant}", tag = "admin",
    params(("tenant" = String, Path, description = "The tenant's id, or its registered name")),
    responses(
        (status = 200, description = "Every event, signal, queue entry, chain state, retention policy, API key and the registry entry of the tenant are removed; its keys stop working at once. Idempotent by id (a second erasure answers zeros)", body = ErasureDoc),
        (status = 401, description = "No administrator key, or a wrong one (tenant keys never reach this route)", body = crate::api_schemas::ErrorDoc),
        (status = 403, description = "Admin routes are off: the server has no `admin_key` setting (to a request with a key; without one the answer is 401)", body = crate::api_schemas::ErrorDoc),
        (status = 404, description = "No tenant has this name", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn erase_tenant<S: ServerStore>(
    State(state): State<AppState<S>>,
    Path(tenant): Path<String>,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> Result<Response, ApiError> {
    let tenant_id = named_tenant(&state, &tenant).await?;
    let erased = state.erase_tenant(tenant_id).await?;
    tracing::warn!(
        %tenant_id,
        events = erased.events,
        api_keys = erased.api_keys,
        "tenant erased by the administrator"
    );
    Ok(Json(ErasureDoc {
        tenant_id: tenant_id.to_string(),
        events: erased.events,
        api_keys: erased.api_keys,
        registered: erased.registered,
    })
    .into_response())
}
