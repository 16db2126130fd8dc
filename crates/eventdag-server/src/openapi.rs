//! The OpenAPI document of every route handler and answer shape, and the
//! route that serves it.

use axum::Json;
use utoipa::OpenApi;

use crate::api_schemas::{
    ErrorDetailDoc, ErrorDoc, EventDoc, PositionDoc, SignalDoc, SignalRecordDoc, SignalSentDoc,
};
use crate::openapi_rules::LayerResponses;
use crate::routes::{acks, events, signals, streams, system, walks};
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
        acks::ack,
        acks::unacknowledged,
        acks::next_position,
        signals::send,
        signals::list,
        streams::events,
        streams::signals,
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
        PositionBody
    )),
    modifiers(&LayerResponses)
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of every route.
#[must_use]
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of every route"))
)]
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
}
