//! The OpenAPI document of every route handler and answer shape, and the
//! route that serves it.

use axum::Json;
use serde_json::{json, Value};
use utoipa::OpenApi;

use crate::api_schemas::{
    ChainOutcomeDoc, ChainRemovalDoc, ErrorDetailDoc, ErrorDoc, EventDoc, KeptChainDoc,
    KeptReasonDoc, PlannedRemovalDoc, PositionDoc, RedactionDoc, RetentionPlanDoc,
    RetentionReportDoc, RetentionRunDoc, SignalDoc, SignalRecordDoc, SignalSentDoc,
};
use crate::openapi_rules::LayerResponses;
use crate::routes::{
    acks, chains, events, forget, pending, queue, signals, streams, system, walks,
};
use crate::wire::{NewEventBody, PositionBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "EventDag",
        description = "Multi-tenant event-DAG store (SPEC §7). Authenticate with `Authorization: Bearer <api key>` unless the server has no keys."
    ),
    paths(
        events::append,
        events::append_batch,
        events::read,
        events::by_kind,
        walks::ancestors,
        walks::descendants,
        walks::chain,
        walks::verify,
        chains::recent,
        acks::ack,
        acks::unacknowledged,
        acks::next_position,
        queue::claim_work,
        queue::extend_lease,
        queue::release_lease,
        queue::acknowledge_lease,
        queue::queue_entry,
        pending::pending,
        queue::list_dead_letters,
        queue::requeue_dead_letter,
        signals::send,
        signals::list,
        streams::events,
        streams::signals,
        forget::redact,
        forget::get_retention,
        forget::put_retention,
        forget::delete_retention,
        forget::run_retention,
        forget::remove_chain,
        forget::erase_tenant,
        system::healthz,
        system::metrics,
        document,
        system::index,
    ),
    components(schemas(
        EventDoc,
        PositionDoc,
        ErrorDoc,
        ErrorDetailDoc,
        SignalDoc,
        SignalRecordDoc,
        SignalSentDoc,
        NewEventBody,
        PositionBody,
        queue::ClaimBody,
        queue::ExtendBody,
        queue::ReleaseBody,
        queue::AckBody,
        queue::LeaseDoc,
        queue::ClaimedDoc,
        queue::QueueEntryDoc,
        queue::DeadLetterDoc,
        chains::ChainStatus,
        chains::EventRefDoc,
        chains::ChainSummaryDoc,
        chains::ChainListDoc,
        pending::PendingDoc,
        RedactionDoc,
        PlannedRemovalDoc,
        KeptChainDoc,
        KeptReasonDoc,
        RetentionPlanDoc,
        RetentionReportDoc,
        RetentionRunDoc,
        ChainRemovalDoc,
        ChainOutcomeDoc,
        forget::RedactBody,
        forget::RetentionRuleBody,
        forget::RetentionPolicyBody,
        forget::RetentionDoc,
        forget::ErasureDoc
    )),
    modifiers(&LayerResponses)
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of every route.
#[must_use]
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /openapi.json`: this document, with what utoipa's derive cannot
/// say: `lane` and `position` are not given together.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of every route"))
)]
pub(crate) async fn document() -> Json<Value> {
    let mut document = serde_json::to_value(openapi_document()).unwrap_or(Value::Null);
    let schemas = &mut document["components"]["schemas"];
    if let Some(body) = schemas
        .get_mut("NewEventBody")
        .and_then(Value::as_object_mut)
    {
        body.insert("not".into(), json!({"required": ["lane", "position"]}));
    }
    // Every request body refuses unknown fields (serde
    // deny_unknown_fields); say so for the signal variants too.
    let variants = schemas["SignalDoc"]["oneOf"].as_array_mut();
    for variant in variants.into_iter().flatten() {
        if let Some(variant) = variant.as_object_mut() {
            variant.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    Json(document)
}
