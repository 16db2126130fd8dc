//! What keeps a web page from driving a local server (browser safety,
//! SPEC §7): a page the user visits can make the browser send "simple"
//! cross-site requests — form posts, `text/plain` bodies, requests to
//! `127.0.0.1` — and, through DNS rebinding, requests whose `Host` is
//! the attacker's name. Three checks, before anything else runs:
//!
//! 1. A request with a body must say `Content-Type: application/json`
//!    (415 otherwise): a cross-site page cannot send that without a CORS
//!    preflight, which this server answers only for configured origins.
//! 2. A request with an `Origin` header must come from this server's own
//!    pages or a configured origin (403): browsers set `Origin` on every
//!    cross-site POST, whatever its body.
//! 3. A server without API keys answers only loopback `Host` names and
//!    the configured `allowed_hosts` (403): it serves the default tenant
//!    to whoever reaches it, so a rebinding name must not.
//!
//! Clients that are not browsers send no `Origin` and the right `Host`,
//! and are not affected.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState, ServerStore};

/// Middleware: the three checks above.
pub(crate) async fn guard<S: ServerStore>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    // A body is whatever the headers announce or the body itself holds.
    let body_hint = http_body::Body::size_hint(request.body()).lower() > 0;
    if let Err(error) = check(&state, request.method(), request.headers(), body_hint).await {
        return error.into_response();
    }
    next.run(request).await
}

async fn check<S: ServerStore>(
    state: &AppState<S>,
    method: &Method,
    headers: &HeaderMap,
    body_hint: bool,
) -> Result<(), ApiError> {
    let config = state.config();
    if (body_hint || has_body(headers)) && !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType {
            given: header_text(headers, CONTENT_TYPE.as_str()),
        });
    }
    // A request without `Host` (HTTP/1.0, or a router called in-process)
    // cannot be a rebinding: browsers always send it.
    let Some(host) = headers.get(HOST) else {
        return check_origin(config, method, headers, None);
    };
    let host = host.to_str().unwrap_or("");
    check_origin(config, method, headers, Some(host))?;
    let host_allowed = is_loopback_host(host)
        || config
            .allowed_hosts
            .iter()
            .any(|allowed| allowed == host || allowed == host_name(host));
    if !host_allowed && !state.inner.keys.any_keys(state.store().as_ref()).await? {
        return Err(ApiError::Forbidden(format!(
            "Host {host:?} refused: a server without API keys answers only loopback names (localhost, 127.0.0.1, [::1]) and its allowed_hosts; create a key or add the name to allowed_hosts"
        )));
    }
    Ok(())
}

/// An `Origin` must be this server's own (`scheme://` + its `Host`) or
/// a configured one.
fn check_origin(
    config: &crate::ServerConfig,
    method: &Method,
    headers: &HeaderMap,
    host: Option<&str>,
) -> Result<(), ApiError> {
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let own = host.is_some_and(|host| {
        ["http://", "https://"]
            .iter()
            .any(|scheme| origin.strip_prefix(scheme) == Some(host))
    });
    if own || config.cors_origins.iter().any(|allowed| allowed == origin) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "{method} from origin {origin:?} refused: only this server's own pages and the configured cors_origins may call it from a browser"
    )))
}

/// Whether the request carries a body (a length above 0, or chunks).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|length| length.trim() != "0")
}

/// `application/json` or `application/<anything>+json`, parameters
/// (`; charset=utf-8`) allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// `host` without its port (`[::1]:7400` → `[::1]`, `a:1` → `a`).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(name, _)| &host[..=name.len()]);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// `localhost` (and `*.localhost`, which resolvers keep on loopback) or a
/// loopback address.
fn is_loopback_host(host: &str) -> bool {
    let name = host_name(host).to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let address = name.trim_start_matches('[').trim_end_matches(']');
    address.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_with_and_without_ports() {
        for host in [
            "localhost",
            "localhost:7400",
            "LOCALHOST:1",
            "app.localhost:80",
            "127.0.0.1",
            "127.0.0.1:7400",
            "127.9.9.9:1",
            "[::1]",
            "[::1]:7400",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:7400",
            "localhost.evil.example",
            "10.0.0.1:7400",
            "[::2]:7400",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn json_media_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
