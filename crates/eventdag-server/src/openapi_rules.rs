//! The parts of the OpenAPI document that follow from the layers every
//! route passes, not from the handler: rather than repeat them on each
//! annotation (and forget one), they are added here from the same rules
//! the router applies.
//!
//! - every route: 403 (browser safety, [`crate::browser`]) and 503
//!   (request timeout; storage unavailable);
//! - every `/v1` route: 400 (query parameters), 401 (API key), 429 (rate
//!   limit; backpressure on appends), the bearer security scheme;
//! - every POST (a body, when sent, is checked even where none is
//!   expected): 413 (too large) and 415 (not JSON);
//! - every route with an id in its path: 404;
//! - parameters that carry an event or chain id: `format: uuid`.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{KnownFormat, Object, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Schema};
use utoipa::Modify;

/// The name of the bearer scheme in `components.securitySchemes`.
const SCHEME: &str = "api_key";

/// Parameters whose values are UUIDs.
const UUID_PARAMETERS: &[&str] = &["id", "correlation_id", "parent", "event_id", "after_id"];

/// Parameters that are `u32` (`format: int32` would cap them at 2^31 - 1).
const U32_PARAMETERS: &[&str] = &["lane", "min_depth", "max_depth"];

/// Parameters that are `u64` (`format: int64` would cap them at 2^63 - 1).
const U64_PARAMETERS: &[&str] = &["after", "Last-Event-ID"];

/// Adds what the shared layers answer to every operation.
pub(crate) struct LayerResponses;

fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorDoc"))),
        )
        .into()
}

fn add(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error(description));
}

fn complete(path: &str, is_post: bool, operation: &mut Operation) {
    add(
        operation,
        "403",
        "Refused by browser safety: a foreign Origin, or a non-loopback Host on a server without API keys",
    );
    add(
        operation,
        "503",
        "The request timed out or the storage is unavailable; retry later",
    );
    let v1 = path.starts_with("/v1/");
    if v1 {
        add(
            operation,
            "400",
            "Invalid path, query parameter or body; the message names it",
        );
        add(
            operation,
            "401",
            "No API key, or an unknown, malformed or revoked one (when the server has keys)",
        );
        add(
            operation,
            "429",
            "Rate limit of this API key exceeded, or backpressure; see Retry-After",
        );
        let bearer = SecurityRequirement::new(SCHEME, Vec::<String>::new());
        operation.security = if path.starts_with("/v1/admin/") {
            // Only the administrator key, never none.
            Some(vec![bearer])
        } else {
            // Without keys the server serves the default tenant: no
            // credentials is also valid.
            Some(vec![bearer, SecurityRequirement::default()])
        };
    } else {
        operation.security = Some(vec![SecurityRequirement::default()]);
    }
    if is_post {
        add(operation, "413", "Body (or an event's payload) too large");
        add(
            operation,
            "415",
            "The body is not sent as Content-Type: application/json",
        );
    }
    if path.contains('{') {
        add(operation, "404", "Unknown, or another tenant's");
    }
    for parameter in operation.parameters.iter_mut().flatten() {
        let carries_uuid = UUID_PARAMETERS.contains(&parameter.name.as_str())
            && matches!(
                parameter.parameter_in,
                ParameterIn::Path | ParameterIn::Query
            );
        if carries_uuid {
            let mut schema = Object::with_type(Type::String);
            schema.format = Some(SchemaFormat::KnownFormat(KnownFormat::Uuid));
            // OpenAPI 3.1 formats are annotations; the pattern is what
            // validators and generators enforce.
            schema.pattern = Some(crate::api_schemas::UUID_PATTERN.to_owned());
            parameter.schema = Some(RefOr::T(Schema::Object(schema)));
        }
        if parameter.name == "kind" {
            let mut schema = Object::with_type(Type::Integer);
            schema.minimum = Some(0.into());
            schema.maximum = Some(65_535.into());
            parameter.schema = Some(RefOr::T(Schema::Object(schema)));
        }
        if U32_PARAMETERS.contains(&parameter.name.as_str()) {
            parameter.schema = Some(RefOr::T(Schema::Object(crate::api_schemas::u32_schema())));
        }
        if parameter.name == "older_than" {
            let mut schema = Object::with_type(Type::Integer);
            schema.minimum = Some(0.into());
            schema.maximum = Some(crate::routes::forget::MAX_OLDER_THAN.into());
            parameter.schema = Some(RefOr::T(Schema::Object(schema)));
        }
        if U64_PARAMETERS.contains(&parameter.name.as_str()) {
            parameter.schema = Some(RefOr::T(Schema::Object(crate::api_schemas::u64_schema())));
        }
    }
}

impl Modify for LayerResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SCHEME,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for (path, item) in &mut openapi.paths.paths {
            for operation in [&mut item.post, &mut item.put].into_iter().flatten() {
                complete(path, true, operation);
            }
            for operation in [
                &mut item.get,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
            ]
            .into_iter()
            .flatten()
            {
                complete(path, false, operation);
            }
        }
    }
}
