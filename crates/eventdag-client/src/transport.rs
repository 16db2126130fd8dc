//! One HTTP exchange with the server, repeated when that is safe: the
//! request, the retries and the mapping of every failure to the
//! [`Effect`] a store would have returned.

use std::time::Duration;

use eventdag::{Effect, ErrorEffect};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::reply::{error_effect, retry_after_header, Subject};
use crate::retry::{RetryPolicy, Safety};

/// A request to make: method, path under the base URL, query, JSON body.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) safety: Safety,
    pub(crate) subject: Subject,
    /// Sent with the administrator key instead of the API key.
    pub(crate) admin: bool,
}

impl Call {
    /// A `GET` (always idempotent).
    pub(crate) fn get(path: String, subject: Subject) -> Self {
        Self {
            method: Method::GET,
            path,
            query: Vec::new(),
            body: None,
            safety: Safety::Idempotent,
            subject,
            admin: false,
        }
    }

    /// A `POST` of `body` (JSON bytes).
    pub(crate) fn post(
        path: String,
        body: Option<Vec<u8>>,
        safety: Safety,
        subject: Subject,
    ) -> Self {
        Self {
            method: Method::POST,
            path,
            query: Vec::new(),
            body,
            safety,
            subject,
            admin: false,
        }
    }

    /// A request of any `method` (`PUT`, `DELETE`) with an optional JSON
    /// body.
    pub(crate) fn with_method(
        method: Method,
        path: String,
        body: Option<Vec<u8>>,
        safety: Safety,
        subject: Subject,
    ) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body,
            safety,
            subject,
            admin: false,
        }
    }

    /// Sent with the administrator key (the `/v1/admin` routes).
    pub(crate) fn with_admin_key(mut self) -> Self {
        self.admin = true;
        self
    }

    /// With `?name=value`.
    pub(crate) fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }
}

/// The HTTP side of a client: shared by every call (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub(crate) client: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) auth: Option<HeaderValue>,
    /// `Bearer <admin key>`, for the `/v1/admin` routes only.
    pub(crate) admin_auth: Option<HeaderValue>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

/// How one attempt ended.
enum Attempt<T> {
    Done(Effect<T>),
    /// Failed in a way a repeat may cure; `sent` when the request may have
    /// reached the server.
    Transient {
        error: ErrorEffect,
        sent: bool,
    },
}

impl Transport {
    /// The URL of `path` (which starts with `/`).
    pub(crate) fn url(&self, path: &str) -> Result<Url, ErrorEffect> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|error| {
                ErrorEffect::invalid("url", format!("cannot build a URL from {path:?}: {error}"))
            })
    }

    /// A request builder with the key and, for unary calls, the timeout.
    pub(crate) fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, url);
        match &self.auth {
            Some(auth) => builder.header(AUTHORIZATION, auth.clone()),
            None => builder,
        }
    }

    /// Makes `call`, retrying as its safety and the policy allow, and
    /// decodes a 2xx body as `T`.
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: Call) -> Effect<T> {
        let url = match self.url(&call.path) {
            Ok(url) => url,
            Err(error) => return Effect::Err(error),
        };
        let mut retries = 0;
        loop {
            let (error, sent) = match self.attempt(&call, url.clone()).await {
                Attempt::Done(effect) => return effect,
                Attempt::Transient { error, sent } => (error, sent),
            };
            let repeatable = call.safety == Safety::Idempotent || !sent;
            if !repeatable || retries >= self.retry.max_retries {
                return Effect::Err(if sent && call.safety == Safety::Once {
                    outcome_unknown(&call, &error)
                } else {
                    error
                });
            }
            retries += 1;
            let wait = self.retry.backoff(retries);
            tracing::debug!(operation = call.subject.operation, %error, retry = retries, ?wait, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt<T: DeserializeOwned>(&self, call: &Call, url: Url) -> Attempt<T> {
        let mut builder = if call.admin {
            let builder = self.client.request(call.method.clone(), url);
            match &self.admin_auth {
                Some(auth) => builder.header(AUTHORIZATION, auth.clone()),
                None => builder,
            }
        } else {
            self.request(call.method.clone(), url)
        }
        .timeout(self.timeout);
        if !call.query.is_empty() {
            builder = builder.query(&call.query);
        }
        if let Some(body) = &call.body {
            builder = builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        let operation = call.subject.operation;
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Transient {
                    error: transport_error(operation, &error, self.timeout),
                    sent: !error.is_connect(),
                }
            }
        };
        let status = response.status();
        let retry_after = retry_after_header(response.headers());
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                return Attempt::Transient {
                    error: transport_error(operation, &error, self.timeout),
                    sent: true,
                }
            }
        };
        if status.is_success() {
            // 204 (a release, a requeue) has no body: read as `null`, so
            // that `()` decodes.
            let body: &[u8] = if status == StatusCode::NO_CONTENT {
                b"null"
            } else {
                &bytes
            };
            return Attempt::Done(match serde_json::from_slice::<T>(body) {
                Ok(value) => Effect::Ok(value),
                Err(error) => Effect::Err(ErrorEffect::corrupt(
                    None,
                    format!("the server's answer to {operation} does not decode: {error}"),
                )),
            });
        }
        let effect = error_effect(status, &bytes, retry_after, call.subject);
        match effect {
            // 503 (storage unavailable, timeout, unknown outcome) may pass,
            // so an idempotent call tries again; every other answer is
            // final, and so is a 503 to a call that must not repeat: the
            // server's code already says whether it acted.
            Effect::Err(error)
                if status == StatusCode::SERVICE_UNAVAILABLE
                    && call.safety == Safety::Idempotent =>
            {
                Attempt::Transient { error, sent: true }
            }
            other => Attempt::Done(other),
        }
    }
}

/// A failure of the connection itself: operational.
pub(crate) fn transport_error(
    operation: &str,
    error: &reqwest::Error,
    timeout: Duration,
) -> ErrorEffect {
    if error.is_timeout() {
        ErrorEffect::Timeout {
            operation: operation.to_owned(),
            after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }
    } else {
        ErrorEffect::unavailable(
            operation,
            format!("the server could not be reached: {error}"),
        )
    }
}

/// A request that may have acted, whose answer was lost.
fn outcome_unknown(call: &Call, error: &ErrorEffect) -> ErrorEffect {
    if matches!(error, ErrorEffect::OutcomeUnknown { .. }) {
        return error.clone();
    }
    ErrorEffect::OutcomeUnknown {
        operation: call.subject.operation.to_owned(),
        event_id: call.subject.event_id,
        message: if call.subject.operation == "claim" {
            format!(
                "{error}; the request may have reached the server: events it leased stay leased until their lease ends, then any claim gets them again"
            )
        } else if call.subject.operation == "remove_chain" {
            format!(
                "{error}; the request may have reached the server: read chain {} to find out whether it was removed",
                call.subject.event_id
            )
        } else if matches!(call.subject.operation, "release_lease" | "requeue") {
            format!(
                "{error}; the request may have reached the server: read the queue state of event {} to find out",
                call.subject.event_id
            )
        } else if call.subject.event_id.is_nil() {
            format!(
                "{error}; the request may have reached the server, and without an id the event cannot be looked up: sending it again may store it twice"
            )
        } else if call.subject.operation == "append" {
            format!(
                "{error}; the request may have reached the server: read event {} to find out (the first of a batch; all or none are stored)",
                call.subject.event_id
            )
        } else {
            format!(
                "{error}; the request may have reached the server: list the signals of event {} before sending it again",
                call.subject.event_id
            )
        },
    }
}
