//! `eventdag serve`'s settings, from three places, later ones winning:
//! a TOML file (`--config FILE`, else `./eventdag.toml` if present),
//! `EVENTDAG_*` variables, and flags. figment does the layering (a
//! well-kept crate for exactly this); the settings themselves are
//! `eventdag_server::ServerConfig`, the one definition of their names,
//! defaults and meaning.
//!
//! ```toml
//! store = "lmdb:./eventdag-data"      # or postgres://…, tiered:DIR,postgres://…
//! [server]
//! addr = "127.0.0.1:7400"
//! request_timeout = "30s"
//! rate_limit_per_second = 100000
//! cors_origins = ["https://app.example"]
//! [server.tenant_rate_limits."0190b2f4-7c1e-7aa0-8b31-5d2a3c4e5f60"]
//! per_second = 50
//! burst = 100
//! ```
//!
//! Variables name a setting in capitals: `EVENTDAG_ADDR`,
//! `EVENTDAG_REQUEST_TIMEOUT=5s`, `EVENTDAG_CORS_ORIGINS='["https://a"]'`,
//! `EVENTDAG_TLS__CERT=cert.pem` (`__` for a nested key). The store comes
//! from `--store` / `EVENTDAG_STORE` / `--data` / `EVENTDAG_DATA`, else
//! the file's `store`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use eventdag_server::{ServerConfig, TlsConfig};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::args::ServeArgs;

/// The file read when `--config` is not given, if it exists.
pub(crate) const DEFAULT_CONFIG_FILE: &str = "eventdag.toml";

/// Everything `serve` is configured with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ServeSettings {
    /// The store, when neither `--store` nor `--data` (nor their
    /// variables) name one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) store: Option<String>,
    /// The server's settings.
    pub(crate) server: ServerConfig,
}

/// The flags given, as an overlay: only what was given is set.
#[derive(Debug, Default, Serialize)]
struct FlagLayer {
    server: FlagServer,
}

#[derive(Debug, Default, Serialize)]
struct FlagServer {
    #[serde(skip_serializing_if = "Option::is_none")]
    addr: Option<std::net::SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_body_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_drain_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", with = "humantime_serde")]
    request_timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit_per_second: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit_burst: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", with = "humantime_serde")]
    key_cache_ttl: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", with = "humantime_serde")]
    stream_poll_interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_batch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", with = "humantime_serde")]
    max_backpressure: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_hosts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cors_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsConfig>,
    #[serde(skip_serializing_if = "Option::is_none", with = "humantime_serde")]
    retention_interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retention_archive_dir: Option<PathBuf>,
}

fn given<T>(values: &[T]) -> Option<Vec<T>>
where
    T: Clone,
{
    (!values.is_empty()).then(|| values.to_vec())
}

impl FlagLayer {
    fn of(args: &ServeArgs) -> anyhow::Result<Self> {
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsConfig {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            _ => anyhow::bail!("--tls-cert and --tls-key go together: give both or neither"),
        };
        Ok(Self {
            server: FlagServer {
                addr: args.addr,
                max_body_bytes: args.max_body_bytes,
                max_drain_bytes: args.max_drain_bytes,
                max_limit: args.max_limit,
                default_limit: args.default_limit,
                request_timeout: args.request_timeout.map(Into::into),
                rate_limit_per_second: args.rate_limit_per_second,
                rate_limit_burst: args.rate_limit_burst,
                key_cache_ttl: args.key_cache_ttl.map(Into::into),
                stream_poll_interval: args.stream_poll_interval.map(Into::into),
                stream_batch: args.stream_batch,
                max_backpressure: args.max_backpressure.map(Into::into),
                allowed_hosts: given(&args.allowed_host),
                cors_origins: given(&args.cors_origin),
                tls,
                retention_interval: args.retention_interval.map(Into::into),
                retention_archive_dir: args.retention_archive_dir.clone(),
            },
        })
    }
}

/// The names of the server's settings, as `EVENTDAG_*` variables take
/// them (other `EVENTDAG_*` variables belong to the rest of the program).
fn server_keys() -> Vec<String> {
    let defaults = figment::value::Value::serialize(ServerConfig::default());
    let mut keys: Vec<String> = defaults
        .ok()
        .and_then(|value| value.into_dict())
        .map(|dict| dict.into_keys().collect())
        .unwrap_or_default();
    // Settings whose default is none are absent from the defaults.
    for unset in ["tls", "admin_key", "retention_archive_dir"] {
        keys.push(unset.into());
    }
    keys
}

/// The effective settings: defaults, then the file, then `EVENTDAG_*`
/// variables, then flags.
///
/// # Errors
/// A file that cannot be read or parsed, a value of the wrong type or
/// an unknown setting (each named), or settings that cannot work together.
pub(crate) fn load(args: &ServeArgs) -> anyhow::Result<ServeSettings> {
    let file: Option<PathBuf> = match &args.config {
        Some(path) => {
            anyhow::ensure!(
                path.is_file(),
                "--config {}: no such file; expected a TOML file of serve settings",
                path.display()
            );
            Some(path.clone())
        }
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|path| path.is_file()),
    };
    let keys = server_keys();
    let mut figment = Figment::from(Serialized::defaults(ServeSettings::default()));
    if let Some(path) = &file {
        figment = figment.merge(Toml::file_exact(path));
    }
    let env = Env::prefixed("EVENTDAG_")
        .split("__")
        .filter(move |key| {
            let top = key.as_str().split('.').next().unwrap_or("");
            keys.iter().any(|known| known.eq_ignore_ascii_case(top))
        })
        .map(|key| format!("server.{}", key.as_str().to_ascii_lowercase()).into());
    let settings: ServeSettings = figment
        .merge(env)
        .merge(Serialized::defaults(FlagLayer::of(args)?))
        .extract()
        .map_err(|error| anyhow::anyhow!(describe(&error)))?;
    settings
        .server
        .check()
        .context("the serve settings cannot work together")?;
    Ok(settings)
}

/// A figment error: it names the key, the value and where it came from
/// (the file, or the variables).
fn describe(error: &figment::Error) -> String {
    format!("invalid serve settings: {error}")
}

/// The effective settings as TOML, for `--print-config`.
///
/// # Errors
/// Settings that cannot be written as TOML (none expected).
pub(crate) fn render(settings: &ServeSettings) -> anyhow::Result<String> {
    toml::to_string_pretty(settings).context("cannot write the settings as TOML")
}
