//! The shapes of answers as the OpenAPI document describes them (events,
//! positions, errors, signals). Kept apart from the document itself so
//! that the route handlers, which name these in their annotations, and
//! the document, which lists the handlers, do not depend on each other.

use serde::Serialize;
use utoipa::ToSchema;

/// A stored event.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventDoc {
    /// UUID v7.
    id: String,
    /// The owning tenant (nil UUID: the default tenant).
    tenant_id: String,
    /// The correlation chain.
    correlation_id: String,
    /// Parent ids.
    parents: Vec<String>,
    /// µs since the Unix epoch.
    timestamp: u64,
    /// Depth, lane and sequence.
    position: PositionDoc,
    /// Kind 0..=65535.
    kind: u16,
    /// Flag names.
    flags: Vec<String>,
    /// Whether ACKNOWLEDGED is set.
    acknowledged: bool,
    /// Encoded payload size in bytes.
    payload_size: u32,
    /// The payload; `null` when the event is redacted.
    payload: serde_json::Value,
    /// BLAKE3 hash, 64 hex digits.
    hash: String,
    /// The rule `hash` was computed by: 1 (covers the payload bytes) or
    /// 2 (covers a BLAKE3 hash of them, so redaction keeps it valid).
    #[schema(minimum = 1, maximum = 2)]
    hash_version: u8,
    /// Present only when the payload was redacted.
    #[schema(required = false)]
    redaction: Option<RedactionDoc>,
}

/// The mark of a redacted event.
#[derive(Serialize, ToSchema)]
pub(crate) struct RedactionDoc {
    /// Why, as the redacting caller said.
    reason: String,
    /// When, µs since the Unix epoch.
    #[schema(schema_with = u64_schema)]
    redacted_at: u64,
    /// BLAKE3 of the removed payload bytes, 64 hex digits.
    payload_hash: String,
}

/// A chain a retention plan removes.
#[derive(Serialize, ToSchema)]
pub(crate) struct PlannedRemovalDoc {
    #[schema(schema_with = uuid_schema)]
    correlation_id: String,
    /// Events in the chain.
    events: u64,
    /// Its newest event's timestamp, µs.
    #[schema(schema_with = u64_schema)]
    newest_timestamp: u64,
    /// The kind of its shallowest event, which chose the rule.
    root_kind: u16,
    /// Every event is older than this, µs.
    #[schema(schema_with = u64_schema)]
    older_than: u64,
}

/// A chain old enough that is kept, or was not removed.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeptChainDoc {
    #[schema(schema_with = uuid_schema)]
    correlation_id: String,
    /// `dependent` (an event of another chain names one of its events as
    /// parent: `child`, `parent`), `too_young` / `unacknowledged`
    /// (`event_id`), `empty` (already gone).
    reason: KeptReasonDoc,
    #[schema(required = false, schema_with = uuid_schema)]
    child: Option<String>,
    #[schema(required = false, schema_with = uuid_schema)]
    parent: Option<String>,
    #[schema(required = false, schema_with = uuid_schema)]
    event_id: Option<String>,
}

/// Why a chain stays.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum KeptReasonDoc {
    Dependent,
    TooYoung,
    Unacknowledged,
    Empty,
}

/// What a retention policy removes now.
#[derive(Serialize, ToSchema)]
pub(crate) struct RetentionPlanDoc {
    #[schema(schema_with = uuid_schema)]
    tenant_id: String,
    /// The time ages are measured from, µs.
    #[schema(schema_with = u64_schema)]
    now: u64,
    /// Events read to plan.
    scanned_events: u64,
    /// Chains to remove, each before the chains it depends on.
    remove: Vec<PlannedRemovalDoc>,
    /// Old chains kept.
    kept: Vec<KeptChainDoc>,
}

/// What a retention run removed.
#[derive(Serialize, ToSchema)]
pub(crate) struct RetentionReportDoc {
    removed_chains: u64,
    removed_events: u64,
    /// The plan's kept chains, and planned chains the check inside the
    /// write kept (changed since the plan).
    kept: Vec<KeptChainDoc>,
}

/// The answer of `POST /v1/retention/run`.
#[derive(Serialize, ToSchema)]
pub(crate) struct RetentionRunDoc {
    dry_run: bool,
    plan: RetentionPlanDoc,
    /// `null` for a dry run.
    report: Option<RetentionReportDoc>,
    /// The archive file written on the server, if any.
    archive: Option<String>,
}

/// The answer of `DELETE /v1/correlations/{correlation_id}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ChainRemovalDoc {
    /// `removed` or `kept`.
    outcome: ChainOutcomeDoc,
    /// Events removed (`removed`).
    #[schema(required = false)]
    events: Option<u64>,
    /// Why it stays (`kept`).
    #[schema(required = false)]
    reason: Option<KeptReasonDoc>,
    #[schema(required = false, schema_with = uuid_schema)]
    child: Option<String>,
    #[schema(required = false, schema_with = uuid_schema)]
    parent: Option<String>,
    #[schema(required = false, schema_with = uuid_schema)]
    event_id: Option<String>,
}

/// What a chain removal came to.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum ChainOutcomeDoc {
    Removed,
    Kept,
}

/// A position.
#[derive(Serialize, ToSchema)]
pub(crate) struct PositionDoc {
    depth: u32,
    lane: u32,
    sequence: u32,
}

/// An error body.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDoc {
    error: ErrorDetailDoc,
}

/// The inside of an error body.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetailDoc {
    /// Stable code: invalid_input, unauthorized, not_found, conflict,
    /// cancelled, payload_too_large, backpressure, rate_limited,
    /// storage_unavailable, outcome_unknown, timeout, corruption, no_route.
    code: String,
    /// What was wrong, naming the field, and what is accepted.
    message: String,
}

/// An upstream signal, tagged by `type`. Never built: it only describes
/// `eventdag::UpstreamSignal`'s JSON.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum SignalDoc {
    /// Processed.
    Ack {
        #[schema(schema_with = uuid_schema)]
        event_id: String,
    },
    /// Hold appends into the sender's chain until `until` (µs; at most
    /// now + the server's `max_backpressure`, later ones are lowered to
    /// it).
    Backpressure {
        #[schema(schema_with = u64_schema)]
        until: u64,
    },
    /// Cancel a chain of the tenant.
    Cancel {
        #[schema(schema_with = uuid_schema)]
        correlation_id: String,
        reason: String,
    },
    /// Sets COMPENSATED on the event.
    CompensationComplete {
        #[schema(schema_with = uuid_schema)]
        event_id: String,
    },
    /// An error downstream.
    ErrorPropagation {
        #[schema(schema_with = uuid_schema)]
        source_event_id: String,
        #[schema(schema_with = u32_schema)]
        error_code: u32,
        message: String,
    },
}

/// A stored signal.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignalRecordDoc {
    /// Position in the tenant's signal log, from 1.
    sequence: u64,
    tenant_id: String,
    /// The sending event.
    from: String,
    correlation_id: String,
    signal: SignalDoc,
    /// µs since the Unix epoch.
    timestamp: u64,
    /// Every ancestor of `from`, most recent first.
    delivered_to: Vec<String>,
}

/// The answer to `POST /v1/events/{id}/signals`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct SignalSentDoc {
    /// The event the signal was sent from.
    #[schema(format = Uuid)]
    from: String,
    /// The signal as stored.
    signal: SignalDoc,
}

/// Any UUID, as the path and query parameters and `parents` take it.
pub(crate) const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// A version 7 UUID, as a client-chosen `id` or `correlation_id` must be.
const UUID_V7_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$";

fn uuid_string(pattern: &str, description: &str) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Uuid,
        )))
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

/// `id` / `correlation_id` of a request body: a v7 UUID, or null (left
/// out).
pub(crate) fn uuid_v7_schema() -> utoipa::openapi::schema::Object {
    let mut schema = uuid_string(UUID_V7_PATTERN, "A UUID version 7");
    schema.schema_type = nullable(utoipa::openapi::schema::Type::String);
    schema
}

/// `type` or null.
fn nullable(kind: utoipa::openapi::schema::Type) -> utoipa::openapi::schema::SchemaType {
    utoipa::openapi::schema::SchemaType::from_iter([kind, utoipa::openapi::schema::Type::Null])
}

/// An optional u32 (`lane` of a body): the number, or null.
pub(crate) fn optional_u32_schema() -> utoipa::openapi::schema::Object {
    let mut schema = u32_schema();
    schema.schema_type = nullable(utoipa::openapi::schema::Type::Integer);
    schema
}

/// `parents`: UUIDs.
pub(crate) fn parents_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::Array::new(uuid_string(UUID_PATTERN, "A parent event id"))
}

/// `flags`: the names a caller may set, or their bits as one number.
pub(crate) fn flags_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{Array, ObjectBuilder, OneOfBuilder, Type};
    let settable = eventdag::EventFlags::all()
        .difference(eventdag::EventFlags::STORE_MANAGED | eventdag::EventFlags::RESERVED);
    let names: Vec<&str> = settable.iter_names().map(|(name, _)| name).collect();
    // Every combination of the settable bits, for the number form.
    let bits: Vec<u8> = (0..=u8::MAX)
        .filter(|bits| {
            eventdag::EventFlags::from_bits_retain(*bits)
                .difference(settable)
                .is_empty()
        })
        .collect();
    OneOfBuilder::new()
        .item(Array::new(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names))
                .build(),
        ))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some(bits))
                .description(Some("The same flags as bits: REQUIRES_ACK 1, TRANSACTIONAL 2, COMPRESSED 4, REPLAY 8, CRITICAL 64"))
                .build(),
        )
        .description(Some("Flags the caller may set (ACKNOWLEDGED and COMPENSATED are the store's; RESERVED must be clear)"))
        .build()
        .into()
}

/// Any UUID (a field of a signal).
pub(crate) fn uuid_schema() -> utoipa::openapi::schema::Object {
    uuid_string(UUID_PATTERN, "A UUID")
}

/// A u32: `format: int32` would cap it at 2^31 - 1.
pub(crate) fn u32_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(0))
        .maximum(Some(u32::MAX))
        .build()
}

/// A u64: `format: int64` would cap it at 2^63 - 1.
pub(crate) fn u64_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .minimum(Some(0))
        .maximum(Some(u64::MAX))
        .build()
}
