//! `GET /v1/queue/pending`: the tenant's unacknowledged events, oldest
//! first, each with its queue state (lease, attempts, dead letter), so
//! that the explorer's queue view is one request rather than one per
//! event. Built from `DagStore::unacknowledged_for_tenant` and
//! `WorkQueue::queue_entry`.

use axum::extract::State;
use axum::Json;
use eventdag::QueueEntry;
use serde_json::{json, Value};

use super::LimitParams;
use crate::auth::Caller;
use crate::query::QueryParams;
use crate::{ApiError, AppState, ServerStore};

/// `GET /v1/queue/pending?limit=N`.
#[utoipa::path(
    get, path = "/v1/queue/pending", tag = "queue",
    params(
        ("limit" = Option<usize>, Query, description = "Default 100, capped at the server's max limit"),
    ),
    responses(
        (status = 200, description = "The tenant's unacknowledged events, oldest first, each as `{event, queue}`", body = Vec<PendingDoc>),
    )
)]
pub(crate) async fn pending<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    QueryParams(params): QueryParams<LimitParams>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let limit = state.config().limit(params.limit);
    let tenant = caller.tenant_id;
    let events = state.unacknowledged(tenant, limit).await?;
    let mut answer = Vec::with_capacity(events.len());
    for event in events {
        let entry = state
            .timed("queue_entry", state.store().queue_entry(tenant, event.id()))
            .await?
            .unwrap_or_else(|| QueueEntry::fresh(tenant));
        answer.push(json!({"event": event, "queue": entry}));
    }
    Ok(Json(answer))
}

/// An unacknowledged event and its queue state.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct PendingDoc {
    /// The event.
    event: crate::api_schemas::EventDoc,
    /// Its lease, attempts and dead-letter time.
    queue: super::queue::QueueEntryDoc,
}
