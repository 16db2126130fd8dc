//! Live streams (`GET /v1/streams/events`, `GET /v1/streams/signals`) as
//! `futures::Stream`s that reconnect by themselves.
//!
//! Invariant: every item carries the server's cursor (the SSE `id`), and
//! the stream remembers the last one it yielded. A reconnection sends it
//! as `Last-Event-ID`, so the server resumes strictly after it; an item
//! whose cursor is not above the last one is dropped. Cursors grow
//! strictly in commit order (SPEC §5), so across any number of
//! reconnections no item is yielded twice and none is skipped.

use std::time::Duration;

use eventdag::{CursorEvent, ErrorEffect, Event, EventId, EventKind, SignalRecord};
use eventsource_stream::Eventsource;
use futures::stream::BoxStream;
use futures::StreamExt;
use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::StatusCode;

use crate::dag::Payload;
use crate::remote::subject;
use crate::reply::{error_effect, retry_after_header};
use crate::transport::{transport_error, Transport};
use crate::RemoteDag;

/// A live stream of items, each `Ok` at most once and in commit order;
/// `Err` items report a failure (the stream goes on, reconnecting) or,
/// for a request the server refuses (bad filter, bad key, unknown
/// event), end it.
pub type LiveStream<T> = BoxStream<'static, Result<T, ErrorEffect>>;

/// What [`RemoteDag::event_stream`] follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this correlation chain.
    pub correlation_id: Option<EventId>,
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Start after this cursor (0: from the tenant's first event). `None`:
    /// from now on, as the server sees "now" on the first connection;
    /// should that connection fail before its first event, the next one
    /// starts at a later "now". Give a cursor to rule that gap out.
    pub after: Option<u64>,
}

/// What [`RemoteDag::signal_stream`] follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalFilter {
    /// Only signals sent from or delivered to this event.
    pub event_id: Option<EventId>,
    /// Only signals sent from this chain or cancelling it.
    pub correlation_id: Option<EventId>,
    /// Start after this signal sequence (0: from the first); `None`: from
    /// now on (see [`EventFilter::after`]).
    pub after: Option<u64>,
}

/// How long a connection may stay silent: the server sends a keep-alive
/// every 15 s, so three missed ones mean the connection is dead (a server
/// gone without closing it) and is replaced.
const IDLE: Duration = Duration::from_secs(45);

impl<P: Payload> RemoteDag<P> {
    /// The tenant's new events in commit order, with their cursors.
    #[must_use]
    pub fn event_stream(&self, filter: EventFilter) -> LiveStream<CursorEvent<P>> {
        let mut query = Vec::new();
        if let Some(id) = filter.correlation_id {
            query.push(("correlation_id", id.to_string()));
        }
        if let Some(kind) = filter.kind {
            query.push(("kind", kind.0.to_string()));
        }
        follow(
            self.transport.as_ref().clone(),
            Source {
                path: "/v1/streams/events",
                name: "event",
                query,
            },
            filter.after,
            |cursor, data| {
                serde_json::from_str::<Event<P>>(data).map(|event| CursorEvent { cursor, event })
            },
        )
    }

    /// The tenant's new signals by sequence.
    #[must_use]
    pub fn signal_stream(&self, filter: SignalFilter) -> LiveStream<SignalRecord> {
        let mut query = Vec::new();
        if let Some(id) = filter.event_id {
            query.push(("event_id", id.to_string()));
        }
        if let Some(id) = filter.correlation_id {
            query.push(("correlation_id", id.to_string()));
        }
        follow(
            self.transport.as_ref().clone(),
            Source {
                path: "/v1/streams/signals",
                name: "signal",
                query,
            },
            filter.after,
            |_, data| serde_json::from_str::<SignalRecord>(data),
        )
    }
}

/// The route, its SSE event name and its filters.
struct Source {
    path: &'static str,
    name: &'static str,
    query: Vec<(&'static str, String)>,
}

type Frames = BoxStream<'static, Result<eventsource_stream::Event, String>>;

/// A follower's state between two items.
struct Follower<T, D> {
    transport: Transport,
    source: Source,
    /// The cursor of the last item yielded, or the starting one.
    cursor: Option<u64>,
    frames: Option<Frames>,
    /// Consecutive failed connections, for the backoff.
    failures: u32,
    done: bool,
    decode: D,
    _item: std::marker::PhantomData<fn() -> T>,
}

fn follow<T, D>(
    transport: Transport,
    source: Source,
    after: Option<u64>,
    decode: D,
) -> LiveStream<T>
where
    T: Send + 'static,
    D: Fn(u64, &str) -> Result<T, serde_json::Error> + Send + 'static,
{
    let follower = Follower {
        transport,
        source,
        cursor: after,
        frames: None,
        failures: 0,
        done: false,
        decode,
        _item: std::marker::PhantomData,
    };
    futures::stream::unfold(follower, |mut follower| async move {
        let item = follower.next().await?;
        Some((item, follower))
    })
    .boxed()
}

impl<T, D> Follower<T, D>
where
    D: Fn(u64, &str) -> Result<T, serde_json::Error>,
{
    async fn next(&mut self) -> Option<Result<T, ErrorEffect>> {
        loop {
            if self.done {
                return None;
            }
            let Some(frames) = self.frames.as_mut() else {
                if self.failures > 0 {
                    tokio::time::sleep(self.transport.retry.backoff(self.failures)).await;
                }
                match self.connect().await {
                    Ok(frames) => {
                        self.frames = Some(frames);
                        continue;
                    }
                    Err(error) => {
                        self.failures = self.failures.saturating_add(1);
                        return Some(Err(error));
                    }
                }
            };
            match frames.next().await {
                Some(Ok(frame)) => {
                    self.failures = 0;
                    if let Some(item) = self.take(&frame) {
                        return Some(item);
                    }
                }
                Some(Err(error)) => {
                    self.frames = None;
                    self.failures = self.failures.saturating_add(1);
                    tracing::debug!(%error, path = self.source.path, "stream connection lost; resuming");
                }
                None => {
                    // The server ended the stream (a restart, a graceful
                    // shutdown): resume at once, then back off if it
                    // cannot be reached.
                    self.frames = None;
                    self.failures = 1;
                }
            }
        }
    }

    /// The item of one SSE frame, if it is one to yield.
    fn take(&mut self, frame: &eventsource_stream::Event) -> Option<Result<T, ErrorEffect>> {
        if frame.event == "error" {
            // The server could not read its store; it keeps the stream
            // open and resumes when the store answers again.
            let effect: eventdag::Effect<()> = error_effect(
                StatusCode::SERVICE_UNAVAILABLE,
                frame.data.as_bytes(),
                None,
                subject("stream", EventId::nil()),
            );
            return effect.err().map(Err);
        }
        if frame.event != self.source.name {
            return None;
        }
        let Ok(cursor) = frame.id.trim().parse::<u64>() else {
            return Some(Err(ErrorEffect::corrupt(
                None,
                format!("stream frame without a numeric id: {:?}", frame.id),
            )));
        };
        if self.cursor.is_some_and(|last| cursor <= last) {
            return None;
        }
        self.cursor = Some(cursor);
        Some((self.decode)(cursor, &frame.data).map_err(|error| {
            ErrorEffect::corrupt(
                None,
                format!("stream item {cursor} does not decode: {error}"),
            )
        }))
    }

    async fn connect(&mut self) -> Result<Frames, ErrorEffect> {
        let operation = self.source.path;
        let url = self.transport.url(self.source.path)?;
        let mut request = self
            .transport
            .request(reqwest::Method::GET, url)
            .header(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if !self.source.query.is_empty() {
            request = request.query(&self.source.query);
        }
        if let Some(cursor) = self.cursor {
            request = request.header("last-event-id", cursor.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|error| transport_error(operation, &error, self.transport.timeout))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after_header(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            let effect: eventdag::Effect<()> = error_effect(
                status,
                &body,
                retry_after,
                subject("stream", EventId::nil()),
            );
            // A refusal of the request itself is final; only the server's
            // or the storage's trouble is waited out.
            if !status.is_server_error() && status != StatusCode::TOO_MANY_REQUESTS {
                self.done = true;
            }
            return Err(effect.into_result().err().unwrap_or_else(|| {
                ErrorEffect::unavailable(operation, format!("the server answered HTTP {status}"))
            }));
        }
        let bytes = futures::stream::unfold(response.bytes_stream(), |mut body| async move {
            match tokio::time::timeout(IDLE, body.next()).await {
                Ok(Some(chunk)) => Some((chunk.map_err(|error| error.to_string()), body)),
                Ok(None) => None,
                Err(_) => Some((Err(format!("no data for {} s", IDLE.as_secs())), body)),
            }
        });
        Ok(bytes
            .eventsource()
            .map(|frame| frame.map_err(|error| error.to_string()))
            .boxed())
    }
}
