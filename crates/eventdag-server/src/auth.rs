//! API keys: `edk_<8-character prefix>_<32-character secret>` (about 190
//! random bits), stored as the SHA-256 of the whole key, found by prefix
//! and compared in constant time. [`authenticate`] resolves the caller's
//! tenant for every `/v1` request.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use eventdag::{ApiKeyRecord, Effect, TenantId, TenantStore, DEFAULT_TENANT};
use parking_lot::Mutex;
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState, ServerStore};

/// The scheme every key starts with (`edk_…`).
pub const KEY_SCHEME: &str = "edk";
/// Length of the public prefix that identifies a key.
pub const KEY_PREFIX_LEN: usize = 8;
/// Length of the secret part (alphanumeric: ~5.95 bits per character).
const SECRET_LEN: usize = 32;
const PREFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// An API key in plaintext. `Debug` shows only the prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    prefix: String,
    secret: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({KEY_SCHEME}_{}_…)", self.prefix)
    }
}

impl ApiKey {
    /// A fresh random key from the thread's CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let prefix = (0..KEY_PREFIX_LEN)
            .map(|_| char::from(PREFIX_ALPHABET[rng.random_range(0..PREFIX_ALPHABET.len())]))
            .collect();
        let secret = Alphanumeric.sample_string(&mut rng, SECRET_LEN);
        Self { prefix, secret }
    }

    /// Parses `edk_<prefix>_<secret>`; `None` when the text has another
    /// shape.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(KEY_SCHEME)?.strip_prefix('_')?;
        let (prefix, secret) = rest.split_once('_')?;
        let well_formed = prefix.len() == KEY_PREFIX_LEN
            && prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b))
            && secret.len() == SECRET_LEN
            && secret.bytes().all(|b| b.is_ascii_alphanumeric());
        well_formed.then(|| Self {
            prefix: prefix.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The public prefix, the key's name in the store.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The whole key, to show its owner once.
    #[must_use]
    pub fn expose(&self) -> String {
        format!("{KEY_SCHEME}_{}_{}", self.prefix, self.secret)
    }

    /// SHA-256 of the whole key: what the store keeps.
    #[must_use]
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.expose().as_bytes()).into()
    }

    /// Whether `record` stores this key's hash (constant-time compare).
    #[must_use]
    pub fn matches(&self, record: &ApiKeyRecord) -> bool {
        record.prefix == self.prefix && bool::from(self.hash().ct_eq(&record.key_hash))
    }
}

/// The shortest administrator key accepted, in characters.
pub const MIN_ADMIN_KEY_CHARS: usize = 32;

/// The administrator's credential (setting `admin_key`), kept only as the
/// SHA-256 of the key: the plaintext is hashed as the settings are read
/// and dropped. In settings it is written as the key itself or as
/// `sha256:<64 hex digits>`; it is always printed in the second form.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminKey {
    hash: [u8; 32],
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey(sha256:…)")
    }
}

/// Why a text is not an administrator key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid admin_key: {0}")]
pub struct AdminKeyError(String);

impl AdminKey {
    /// The key `text`: `sha256:<64 hex digits>` (the hash of the key), or
    /// the key itself, at least [`MIN_ADMIN_KEY_CHARS`] printable
    /// characters without spaces.
    ///
    /// # Errors
    /// [`AdminKeyError`] saying what is accepted.
    pub fn parse(text: &str) -> Result<Self, AdminKeyError> {
        if let Some(hex_digits) = text.strip_prefix("sha256:") {
            let mut hash = [0u8; 32];
            return hex::decode_to_slice(hex_digits, &mut hash)
                .map(|()| Self { hash })
                .map_err(|_| AdminKeyError("sha256: must be followed by 64 hex digits".into()));
        }
        let printable = text.chars().all(|c| c.is_ascii_graphic());
        if text.chars().count() < MIN_ADMIN_KEY_CHARS || !printable {
            return Err(AdminKeyError(format!(
                "the key must be at least {MIN_ADMIN_KEY_CHARS} printable ASCII characters without spaces (e.g. `openssl rand -hex 32`), or sha256:<64 hex digits> of such a key"
            )));
        }
        Ok(Self {
            hash: Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// Whether `presented` is this key (SHA-256, compared in constant
    /// time, as for tenant keys).
    #[must_use]
    pub fn matches(&self, presented: &str) -> bool {
        let hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(hash.ct_eq(&self.hash))
    }

    /// `sha256:<hex>`: how the key is printed and can be configured
    /// without writing the key itself into a file.
    #[must_use]
    pub fn hashed_text(&self) -> String {
        format!("sha256:{}", hex::encode(self.hash))
    }
}

impl serde::Serialize for AdminKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.hashed_text())
    }
}

impl<'de> serde::Deserialize<'de> for AdminKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Who is calling: the tenant and, with a key, the key's prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) tenant_id: TenantId,
    /// `None` when no keys exist and the default tenant is served.
    pub(crate) key_prefix: Option<String>,
}

/// Remembers found keys for at most `ttl` (the bound on how long a revoked
/// key keeps working) and whether any key exists. Unknown prefixes are
/// never cached, so new keys work at once.
pub(crate) struct KeyCache {
    ttl: Duration,
    found: Mutex<HashMap<String, (ApiKeyRecord, Instant)>>,
    /// `Some(at)` once a key was seen to exist at `at`. Once true it stays
    /// true for the life of the server, even when tenant erasure removes
    /// the last key: a server that required keys must never fall back to
    /// serving the default tenant to anyone (a restart on a non-loopback
    /// address without keys is refused by `serve`).
    any_key_seen: Mutex<Option<Instant>>,
    none_checked: Mutex<Option<Instant>>,
}

impl KeyCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            found: Mutex::new(HashMap::new()),
            any_key_seen: Mutex::new(None),
            none_checked: Mutex::new(None),
        }
    }

    async fn record<S: TenantStore>(
        &self,
        store: &S,
        prefix: &str,
    ) -> Result<Option<ApiKeyRecord>, ApiError> {
        if let Some((record, at)) = self.found.lock().get(prefix) {
            if at.elapsed() < self.ttl {
                return Ok(Some(record.clone()));
            }
        }
        let record = match store.find_api_key(prefix).await {
            Effect::Ok(record) => record,
            other => return Err(ApiError::from_effect(other)),
        };
        if let Some(record) = &record {
            self.found
                .lock()
                .insert(prefix.to_owned(), (record.clone(), Instant::now()));
            self.any_key_seen.lock().get_or_insert_with(Instant::now);
        }
        Ok(record)
    }

    /// Drops every remembered key of `tenant` (after its erasure), so that
    /// its keys stop working at once rather than after the cache's ttl.
    pub(crate) fn forget_tenant(&self, tenant: TenantId) {
        self.found
            .lock()
            .retain(|_, (record, _)| record.tenant_id != tenant);
    }

    /// Whether any key (revoked or not) exists: once one does, every
    /// request needs a key.
    pub(crate) async fn any_keys<S: TenantStore>(&self, store: &S) -> Result<bool, ApiError> {
        if self.any_key_seen.lock().is_some() {
            return Ok(true);
        }
        if let Some(at) = *self.none_checked.lock() {
            if at.elapsed() < self.ttl {
                return Ok(false);
            }
        }
        let keys = match store.list_api_keys().await {
            Effect::Ok(keys) => keys,
            other => return Err(ApiError::from_effect(other)),
        };
        if keys.is_empty() {
            *self.none_checked.lock() = Some(Instant::now());
            Ok(false)
        } else {
            self.any_key_seen.lock().get_or_insert_with(Instant::now);
            Ok(true)
        }
    }

    /// The caller of a request with these headers.
    pub(crate) async fn resolve<S: TenantStore>(
        &self,
        store: &S,
        headers: &HeaderMap,
    ) -> Result<Caller, ApiError> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return if self.any_keys(store).await? {
                Err(ApiError::Unauthorized(
                    "missing API key: send `Authorization: Bearer <api key>`".into(),
                ))
            } else {
                Ok(Caller {
                    tenant_id: DEFAULT_TENANT,
                    key_prefix: None,
                })
            };
        };
        let text = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <api key>`".into())
            })?;
        let key = ApiKey::parse(text.trim()).ok_or_else(|| {
            ApiError::Unauthorized(format!(
                "malformed API key: expected `{KEY_SCHEME}_<{KEY_PREFIX_LEN} characters>_<{SECRET_LEN} characters>`"
            ))
        })?;
        let unknown = || ApiError::Unauthorized("unknown API key".into());
        let record = self
            .record(store, key.prefix())
            .await?
            .ok_or_else(unknown)?;
        if !key.matches(&record) {
            return Err(unknown());
        }
        if record.revoked {
            return Err(ApiError::Unauthorized("API key revoked".into()));
        }
        Ok(Caller {
            tenant_id: record.tenant_id,
            key_prefix: Some(record.prefix),
        })
    }
}

/// Middleware for `/v1`: resolves the caller, applies the per-key rate
/// limit, and hands the [`Caller`] to the handler as an extension.
pub(crate) async fn authenticate<S: ServerStore>(
    State(state): State<AppState<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let inner = &state.inner;
    let caller = match inner
        .keys
        .resolve(inner.store.as_ref(), request.headers())
        .await
    {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let bucket = caller.key_prefix.as_deref().unwrap_or("");
    if let Err(retry_after) = inner.limiter.check(caller.tenant_id, bucket) {
        return ApiError::TooManyRequests {
            retry_after,
            reason: "rate limit of this API key exceeded".into(),
            code: "rate_limited",
        }
        .into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Middleware for `/v1/admin`: the request must carry the administrator
/// key (`admin_key`). No key is 401; with no `admin_key` configured the
/// routes are off and any key is 403; a wrong key, tenant keys
/// included, is 401. Tenant keys are
/// never looked up here, so no tenant can reach these routes.
pub(crate) async fn authenticate_admin<S: ServerStore>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim);
    // No credentials at all is 401 whether or not the routes are on (the
    // route requires a bearer key either way); a key sent to a server
    // without `admin_key` is 403: no key can work there.
    let Some(presented) = presented else {
        return ApiError::Unauthorized(
            "missing administrator key: send `Authorization: Bearer <admin key>`".into(),
        )
        .into_response();
    };
    let Some(admin) = &state.config().admin_key else {
        return ApiError::Forbidden(
            "the admin routes are off: this server has no admin_key setting".into(),
        )
        .into_response();
    };
    if admin.matches(presented) {
        next.run(request).await
    } else {
        ApiError::Unauthorized(
            "not the administrator key: the admin routes take only the server's admin_key, never a tenant's key".into(),
        )
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_and_differ() {
        let key = ApiKey::generate();
        let text = key.expose();
        assert!(text.starts_with("edk_"));
        assert_eq!(ApiKey::parse(&text), Some(key.clone()));
        assert_ne!(ApiKey::generate(), key);
        assert!(!format!("{key:?}").contains(&key.secret));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for text in [
            "",
            "edk_",
            "edk_abc_def",
            "xyz_abcdefgh_0123456789abcdef0123456789abcdef",
            "edk_ABCDEFGH_0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(ApiKey::parse(text), None, "{text}");
        }
    }

    #[test]
    fn admin_keys_keep_only_a_hash_and_match_in_both_forms() {
        let secret = "0123456789abcdef0123456789abcdef";
        let key = AdminKey::parse(secret).unwrap();
        assert!(key.matches(secret));
        assert!(!key.matches("0123456789abcdef0123456789abcdeX"));
        let hashed = key.hashed_text();
        assert!(hashed.starts_with("sha256:") && !hashed.contains(secret));
        assert_eq!(AdminKey::parse(&hashed).unwrap(), key);
        assert!(!format!("{key:?}").contains(&hashed[7..]));
        for refused in [
            "short",
            "sha256:12",
            "with space 0123456789abcdef0123456789",
        ] {
            assert!(AdminKey::parse(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn matches_only_its_own_hash() {
        let key = ApiKey::generate();
        let record = ApiKeyRecord {
            prefix: key.prefix().to_owned(),
            tenant_id: TenantId::nil(),
            key_hash: key.hash(),
            created_at: 0,
            revoked: false,
        };
        assert!(key.matches(&record));
        let forged = ApiKey {
            prefix: key.prefix.clone(),
            secret: "x".repeat(SECRET_LEN),
        };
        assert!(!forged.matches(&record));
    }
}
