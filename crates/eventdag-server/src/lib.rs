//! The HTTP/JSON server of EventDag (SPEC §7): an [`axum`] router over any
//! store that implements [`eventdag::DagStore`] and
//! [`eventdag::TenantStore`] with [`eventdag::RawJson`] payloads: each
//! payload is stored, hashed and served as the JSON text the client sent
//! (numbers and key order exact; whitespace between tokens removed).
//!
//! [`app`] builds the router (usable without a socket, e.g. with
//! `tower::ServiceExt::oneshot`); [`serve`] binds it, refuses a
//! non-loopback address while no API key exists, and shuts down gracefully
//! on SIGTERM/SIGINT. [`create_tenant`], [`create_api_key`],
//! [`list_tenants`] and [`revoke_api_key`] manage tenants and keys for the
//! command-line program. The routes, JSON shapes, errors and limits are
//! described in `docs/server.md`.
//!
//! ```
//! use std::sync::Arc;
//! use eventdag::MemoryDag;
//! use eventdag_server::{app, AppState, ServerConfig};
//!
//! let store = Arc::new(MemoryDag::<eventdag::RawJson>::new());
//! let router: axum::Router = app(AppState::new(store, ServerConfig::default()));
//! # drop(router);
//! ```
#![forbid(unsafe_code)]

mod admin;
mod api_schemas;
mod auth;
mod body;
mod browser;
mod config;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
mod notify;
mod openapi;
mod openapi_rules;
mod query;
mod rate_limit;
mod retention;
mod router;
mod routes;
mod serve;
mod signal_body;
mod state;
mod store_ops;
mod wire;

pub use admin::{
    create_api_key, create_tenant, list_tenants, revoke_api_key, AdminError, CreatedKey,
    CreatedTenant, KeySummary, TenantSummary,
};
pub use auth::{AdminKey, AdminKeyError, ApiKey, KEY_PREFIX_LEN, KEY_SCHEME, MIN_ADMIN_KEY_CHARS};
pub use config::{ConfigError, RateLimit, ServerConfig, TlsConfig, DEFAULT_ADDR};
pub use error::{ApiError, ServeError};
pub use openapi::openapi_document;
pub use retention::RetentionArchive;
pub use router::app;
pub use serve::{serve, serve_listener, shutdown_signal};
pub use state::{AppState, ServerStore};
pub use wire::{NewEventBody, PositionBody};
