//! Live streams (Server-Sent Events) of the tenant's new events and
//! signals, driven by the store's resumable cursors: the SSE `id` is the
//! cursor, and a client reconnecting with `Last-Event-ID` gets everything
//! after it exactly once and in order. Streams wake at once on this
//! server's own writes and poll the store for everyone else's.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use eventdag::{EventId, EventKind, TenantId, UpstreamSignal, MAX_LIMIT};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::auth::Caller;
use crate::query::{Params, QueryParams};
use crate::routes::parse_id;
use crate::{ApiError, AppState, ServerStore};

/// `?correlation_id=&kind=&after=`.
#[derive(Debug, Deserialize)]
pub(crate) struct EventStreamParams {
    correlation_id: Option<String>,
    kind: Option<EventKind>,
    after: Option<u64>,
}

impl Params for EventStreamParams {
    const NAMES: &'static [&'static str] = &["correlation_id", "kind", "after"];
}

/// `?event_id=&correlation_id=&after=`.
#[derive(Debug, Deserialize)]
pub(crate) struct SignalStreamParams {
    event_id: Option<String>,
    correlation_id: Option<String>,
    after: Option<u64>,
}

impl Params for SignalStreamParams {
    const NAMES: &'static [&'static str] = &["event_id", "correlation_id", "after"];
}

/// What a stream follows, with its filters.
#[derive(Debug, Clone, Copy)]
enum Source {
    Events {
        correlation_id: Option<EventId>,
        kind: Option<EventKind>,
    },
    Signals {
        event_id: Option<EventId>,
        correlation_id: Option<EventId>,
    },
}

type SseStream = Response;

/// `GET /v1/streams/events`: the tenant's events in commit order
/// (`event: event`, `id:` the cursor, `data:` the event JSON).
#[utoipa::path(
    get, path = "/v1/streams/events", tag = "streams",
    params(
        ("correlation_id" = Option<String>, Query, description = "Only this chain"),
        ("kind" = Option<u16>, Query, description = "Only this kind"),
        ("after" = Option<u64>, Query, description = "Start after this cursor (0: from the first event); default now. `Last-Event-ID` wins over it"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this cursor"),
    ),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"))
)]
pub(crate) async fn events<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(params): QueryParams<EventStreamParams>,
) -> Result<SseStream, ApiError> {
    let correlation_id = params
        .correlation_id
        .as_deref()
        .map(|text| parse_id("correlation_id", text))
        .transpose()?;
    let source = Source::Events {
        correlation_id,
        kind: params.kind,
    };
    open(state, caller.tenant_id, &headers, params.after, source).await
}

/// `GET /v1/streams/signals`: the tenant's signals by sequence (`event:
/// signal`, `id:` the sequence, `data:` the signal record JSON).
#[utoipa::path(
    get, path = "/v1/streams/signals", tag = "streams",
    params(
        ("event_id" = Option<String>, Query, description = "Only signals sent from or delivered to this event"),
        ("correlation_id" = Option<String>, Query, description = "Only signals sent from this chain or cancelling it"),
        ("after" = Option<u64>, Query, description = "Start after this sequence (0: from the first); default now. `Last-Event-ID` wins over it"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence"),
    ),
    responses(
        (status = 200, description = "text/event-stream", content_type = "text/event-stream"),
        (status = 404, description = "`event_id` unknown or another tenant's", body = crate::api_schemas::ErrorDoc),
    )
)]
pub(crate) async fn signals<S: ServerStore>(
    State(state): State<AppState<S>>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(params): QueryParams<SignalStreamParams>,
) -> Result<SseStream, ApiError> {
    let event_id = params
        .event_id
        .as_deref()
        .map(|text| parse_id("event_id", text))
        .transpose()?;
    if let Some(event_id) = event_id {
        state.own_event(caller.tenant_id, event_id).await?;
    }
    let correlation_id = params
        .correlation_id
        .as_deref()
        .map(|text| parse_id("correlation_id", text))
        .transpose()?;
    let source = Source::Signals {
        event_id,
        correlation_id,
    };
    open(state, caller.tenant_id, &headers, params.after, source).await
}

async fn open<S: ServerStore>(
    state: AppState<S>,
    tenant: TenantId,
    headers: &HeaderMap,
    after: Option<u64>,
    source: Source,
) -> Result<SseStream, ApiError> {
    let resume = headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Last-Event-ID",
                        "must be the cursor of the last event received (a whole number)",
                    )
                })
        })
        .transpose()?;
    let cursor = match resume.or(after) {
        Some(cursor) => cursor,
        None => tail(&state, tenant, source).await?,
    };
    let follow = Follow {
        wake: state.inner.notifier.subscribe(),
        shutdown: state.inner.shutdown.subscribe(),
        state,
        tenant,
        source,
        cursor,
        buffer: VecDeque::new(),
        failing: false,
    };
    let stream = futures::stream::unfold(follow, Follow::next);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The current end of the tenant's log: the cursor after which only new
/// entries come. The store has no "latest cursor" call, so this pages
/// through the log once, [`MAX_LIMIT`] entries at a time.
async fn tail<S: ServerStore>(
    state: &AppState<S>,
    tenant: TenantId,
    source: Source,
) -> Result<u64, ApiError> {
    let mut cursor = 0;
    loop {
        let (count, last) = match source {
            Source::Events { .. } => {
                let page = state.events_after(tenant, cursor, MAX_LIMIT).await?;
                (page.len(), page.last().map(|entry| entry.cursor))
            }
            Source::Signals { .. } => {
                let page = state.signals_after(tenant, cursor, MAX_LIMIT).await?;
                (page.len(), page.last().map(|record| record.sequence))
            }
        };
        if let Some(last) = last {
            cursor = last;
        }
        if count < MAX_LIMIT {
            return Ok(cursor);
        }
    }
}

/// One subscriber's position in the log and what it has read ahead.
struct Follow<S> {
    state: AppState<S>,
    tenant: TenantId,
    source: Source,
    /// The last cursor read from the store (sent, or skipped by a filter).
    cursor: u64,
    buffer: VecDeque<SseEvent>,
    wake: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    /// The last fetch failed (its error was sent once already).
    failing: bool,
}

impl<S: ServerStore> Follow<S> {
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Some((Ok(event), self));
            }
            if *self.shutdown.borrow() {
                return None;
            }
            // Marks the current write count seen *before* reading, so that
            // a write landing during the read wakes the wait below.
            self.wake.borrow_and_update();
            match self.fetch().await {
                Ok(full) if full || !self.buffer.is_empty() => continue,
                Ok(_) => self.failing = false,
                Err(error) => {
                    if !self.failing {
                        self.failing = true;
                        let body =
                            json!({"error": {"code": error.code(), "message": error.message()}});
                        self.buffer
                            .push_back(SseEvent::default().event("error").data(body.to_string()));
                        continue;
                    }
                }
            }
            let poll = self.state.config().stream_poll_interval;
            tokio::select! {
                _ = self.wake.changed() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = self.shutdown.changed() => {}
            }
        }
    }

    /// Reads the next page after the cursor into the buffer; returns
    /// whether the page was full (more may be waiting).
    async fn fetch(&mut self) -> Result<bool, ApiError> {
        let batch = self.state.config().stream_batch.clamp(1, MAX_LIMIT);
        match self.source {
            Source::Events {
                correlation_id,
                kind,
            } => {
                let page = self
                    .state
                    .events_after(self.tenant, self.cursor, batch)
                    .await?;
                let full = page.len() == batch;
                for entry in page {
                    self.cursor = entry.cursor;
                    let header = &entry.event.header;
                    let wanted = correlation_id.is_none_or(|id| id == header.correlation_id)
                        && kind.is_none_or(|kind| kind == header.event_kind);
                    if wanted {
                        self.buffer
                            .push_back(sse("event", entry.cursor, &entry.event));
                    }
                }
                Ok(full)
            }
            Source::Signals {
                event_id,
                correlation_id,
            } => {
                let page = self
                    .state
                    .signals_after(self.tenant, self.cursor, batch)
                    .await?;
                let full = page.len() == batch;
                for record in page {
                    self.cursor = record.sequence;
                    let wanted = event_id
                        .is_none_or(|id| record.from == id || record.delivered_to.contains(&id))
                        && correlation_id.is_none_or(|id| concerns_chain(&record, id));
                    if wanted {
                        self.buffer
                            .push_back(sse("signal", record.sequence, &record));
                    }
                }
                Ok(full)
            }
        }
    }
}

/// Whether a signal concerns chain `id`: sent from it, or cancelling it.
fn concerns_chain(record: &eventdag::SignalRecord, id: EventId) -> bool {
    record.correlation_id == id
        || matches!(&record.signal, UpstreamSignal::Cancel { correlation_id, .. } if *correlation_id == id)
}

fn sse<T: serde::Serialize>(name: &str, cursor: u64, value: &T) -> SseEvent {
    let data = serde_json::to_string(value).unwrap_or_else(|error| {
        json!({"error": {"code": "encoding", "message": error.to_string()}}).to_string()
    });
    SseEvent::default()
        .event(name)
        .id(cursor.to_string())
        .data(data)
}
