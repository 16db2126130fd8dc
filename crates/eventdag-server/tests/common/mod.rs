//! Shared test support: a client that drives the router without a socket,
//! and the server cases, generic over the store so that every backend runs
//! them through [`server_suite!`].
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod api_cases;
pub mod auth_cases;
pub mod bad_input_cases;
pub mod forget_cases;
pub mod isolation_cases;
pub mod limit_cases;
pub mod payload_cases;
pub mod stream_cases;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use eventdag_server::{app, create_tenant, AppState, ServerConfig, ServerStore};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Generates one `#[tokio::test]` per server case for a store factory
/// `async fn() -> (Arc<S>, G)` (G: a guard dropped after the test).
#[macro_export]
macro_rules! server_suite {
    ($factory:path) => {
        $crate::server_suite!(@cases $factory;
            api_cases::append_returns_201_with_the_stored_event,
            api_cases::children_walks_chain_and_kind_queries,
            api_cases::ack_unacked_and_signals,
            api_cases::batch_is_all_or_none,
            api_cases::client_id_makes_retries_idempotent,
            api_cases::explicit_position_conflict_and_cancelled_chain,
            api_cases::backpressure_is_429_with_retry_after,
            api_cases::next_position_and_verify,
            api_cases::health_metrics_and_page,
            api_cases::concurrent_appends_on_one_lane_all_succeed,
            auth_cases::no_keys_serves_the_default_tenant,
            auth_cases::keys_are_required_once_one_exists,
            auth_cases::new_keys_work_at_once_and_revoked_ones_stop,
            auth_cases::keys_are_stored_hashed,
            bad_input_cases::bad_bodies_are_400_naming_the_field,
            bad_input_cases::bad_paths_and_queries_are_400_naming_the_parameter,
            bad_input_cases::oversized_bodies_and_payloads_are_413,
            forget_cases::redaction_marks_the_event_and_serves_no_payload,
            forget_cases::streams_serve_redacted_events_without_payload,
            forget_cases::forgetting_is_tenant_isolated,
            forget_cases::retention_is_set_run_and_removed,
            forget_cases::tenant_erasure_needs_the_admin_key,
            isolation_cases::foreign_ids_fail_on_every_route,
            limit_cases::limit_is_capped,
            limit_cases::rate_limit_is_429_with_retry_after,
            payload_cases::payloads_come_back_exactly_as_sent,
            stream_cases::event_stream_resumes_exactly_once_after_a_burst,
            stream_cases::event_stream_filters_and_starts_now,
            stream_cases::signal_stream_follows_signals,
        );
    };
    (@cases $factory:path; $($group:ident :: $case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $factory().await;
                common::$group::$case(store).await;
            }
        )+
    };
}

/// Settings for tests: fast key cache and stream polling, no rate limit.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        key_cache_ttl: std::time::Duration::ZERO,
        stream_poll_interval: std::time::Duration::from_millis(20),
        rate_limit_per_second: 0,
        ..ServerConfig::default()
    }
}

/// A router over a store, calling it without a socket.
#[derive(Clone)]
pub struct Api {
    pub router: Router,
    pub key: Option<String>,
}

/// A response: status, headers and the body as JSON (`Value::Null` when
/// it is not JSON; the raw text is in `text`).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Reply {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// The error message of an error body.
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }
}

impl Api {
    pub fn new<S: ServerStore>(store: Arc<S>, config: ServerConfig) -> Self {
        Self {
            router: app(AppState::new(store, config)),
            key: None,
        }
    }

    pub fn with_key(&self, key: &str) -> Self {
        Self {
            router: self.router.clone(),
            key: Some(key.to_owned()),
        }
    }

    pub fn request(&self, method: Method, uri: &str, body: Option<&str>) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(key) = &self.key {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        builder
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
            .unwrap()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<&str>) -> Reply {
        self.send(self.request(method, uri, body)).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Reply {
        self.call(Method::POST, uri, Some(&body.to_string())).await
    }

    /// Appends and returns the stored event; panics unless 201.
    pub async fn append(&self, body: Value) -> Value {
        let reply = self.post("/v1/events", &body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json
    }
}

/// Creates tenant `name` and returns an [`Api`] using its key.
pub async fn tenant_api<S: ServerStore>(store: &S, api: &Api, name: &str) -> (Api, uuid::Uuid) {
    let created = create_tenant(store, name).await.unwrap();
    (api.with_key(&created.api_key), created.tenant_id)
}

/// The id of an event JSON.
pub fn id_of(event: &Value) -> String {
    event["id"].as_str().unwrap().to_owned()
}

/// One Server-Sent Event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    pub event: String,
    pub id: Option<u64>,
    pub data: Value,
}

/// Reads Server-Sent Events from a streaming response body.
pub struct SseReader {
    body: axum::body::Body,
    buffer: String,
}

impl SseReader {
    /// Opens `uri` as a stream (optionally resuming after `last_id`).
    pub async fn open(api: &Api, uri: &str, last_id: Option<u64>) -> Result<Self, Reply> {
        let mut request = api.request(Method::GET, uri, None);
        if let Some(last) = last_id {
            request
                .headers_mut()
                .insert("last-event-id", last.to_string().parse().unwrap());
        }
        let response = api.router.clone().oneshot(request).await.unwrap();
        if response.status() != StatusCode::OK {
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            return Err(Reply {
                status,
                headers,
                json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Ok(Self {
            body: response.into_body(),
            buffer: String::new(),
        })
    }

    /// The next event (skipping keep-alive comments), or `None` when none
    /// arrives within `wait` or the stream ended.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(split) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..split + 2).collect();
                let mut event = Sse {
                    event: "message".into(),
                    id: None,
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(rest) = line.strip_prefix("event:") {
                        event.event = rest.trim().to_owned();
                    } else if let Some(rest) = line.strip_prefix("id:") {
                        event.id = rest.trim().parse().ok();
                    } else if let Some(rest) = line.strip_prefix("data:") {
                        data.push_str(rest.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                event.data = serde_json::from_str(&data).unwrap();
                return Some(event);
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            match frame {
                Ok(Some(Ok(frame))) => {
                    if let Ok(bytes) = frame.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
                _ => return None,
            }
        }
    }

    /// Every event arriving until none comes for `quiet`.
    pub async fn drain(&mut self, quiet: std::time::Duration) -> Vec<Sse> {
        let mut out = Vec::new();
        while let Some(event) = self.next(quiet).await {
            out.push(event);
        }
        out
    }
}
