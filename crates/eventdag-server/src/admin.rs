//! Tenant and key management for the command-line program: create a
//! tenant with its first key, add keys, list, revoke. A running server
//! sees the changes without restart (it reads keys from the store).

use eventdag::{
    now_micros, ApiKeyRecord, Effect, ErrorEffect, TenantId, TenantRecord, TenantStore,
};
use serde::Serialize;

use crate::ApiKey;

/// Longest tenant name accepted.
const MAX_NAME_CHARS: usize = 128;
/// Fresh prefixes tried when one is taken (41 random bits each: a clash
/// is already rare).
const PREFIX_ATTEMPTS: usize = 8;

/// A new tenant and its first key. Serialized as the CLI prints it:
/// `{"tenant_id", "name", "api_key"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedTenant {
    /// The tenant's id.
    pub tenant_id: TenantId,
    /// Its name.
    pub name: String,
    /// The plaintext key: shown this once, only its hash is stored.
    pub api_key: String,
}

/// A new key of an existing tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedKey {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The key's public prefix (what `revoke_api_key` takes).
    pub prefix: String,
    /// The plaintext key, shown this once.
    pub api_key: String,
}

/// A tenant and its keys (never the keys themselves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantSummary {
    /// The tenant's id.
    pub tenant_id: TenantId,
    /// Its name.
    pub name: String,
    /// µs since the Unix epoch.
    pub created_at: u64,
    /// Its keys by prefix.
    pub keys: Vec<KeySummary>,
}

/// A key as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    /// The public prefix.
    pub prefix: String,
    /// µs since the Unix epoch.
    pub created_at: u64,
    /// Whether the key is refused.
    pub revoked: bool,
}

/// Why a tenant or key operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The name is empty, too long or has control characters; choose
    /// another. (HTTP 400 if ever exposed.)
    #[error("invalid tenant name {name:?}: {reason}")]
    InvalidName {
        /// The refused name.
        name: String,
        /// What is accepted.
        reason: String,
    },
    /// A tenant with this name exists already. (HTTP 409.)
    #[error("a tenant named {0:?} exists already")]
    NameTaken(String),
    /// No tenant has this id. (HTTP 404.)
    #[error("no tenant has id {0}")]
    UnknownTenant(TenantId),
    /// No key has this prefix; `list_tenants` shows them. (HTTP 404.)
    #[error("no API key has prefix {0:?}")]
    UnknownKey(String),
    /// The store failed; retry later. (HTTP 503.)
    #[error("store error: {0}")]
    Store(ErrorEffect),
}

fn store_error<T>(effect: Effect<T>) -> AdminError {
    AdminError::Store(
        effect
            .into_result()
            .err()
            .unwrap_or_else(|| ErrorEffect::unavailable("tenant registry", "no answer")),
    )
}

/// Creates tenant `name` and its first key; the key is in the result only.
///
/// # Errors
/// [`AdminError::InvalidName`], [`AdminError::NameTaken`] or a store error.
pub async fn create_tenant<S: TenantStore + ?Sized>(
    store: &S,
    name: &str,
) -> Result<CreatedTenant, AdminError> {
    let name = name.trim();
    check_name(name)?;
    let tenant = TenantRecord {
        tenant_id: uuid::Uuid::now_v7(),
        name: name.to_owned(),
        created_at: now_micros(),
    };
    match store.create_tenant(tenant.clone()).await {
        Effect::Ok(()) => {}
        Effect::Err(ErrorEffect::IdConflict { .. }) => {
            return Err(AdminError::NameTaken(name.to_owned()))
        }
        other => return Err(store_error(other)),
    }
    let key = create_api_key(store, tenant.tenant_id).await?;
    Ok(CreatedTenant {
        tenant_id: tenant.tenant_id,
        name: tenant.name,
        api_key: key.api_key,
    })
}

/// Adds a key to an existing tenant.
///
/// # Errors
/// [`AdminError::UnknownTenant`] or a store error.
pub async fn create_api_key<S: TenantStore + ?Sized>(
    store: &S,
    tenant_id: TenantId,
) -> Result<CreatedKey, AdminError> {
    let mut last = None;
    for _ in 0..PREFIX_ATTEMPTS {
        let key = ApiKey::generate();
        let record = ApiKeyRecord {
            prefix: key.prefix().to_owned(),
            tenant_id,
            key_hash: key.hash(),
            created_at: now_micros(),
            revoked: false,
        };
        match store.put_api_key(record).await {
            Effect::Ok(()) => {
                return Ok(CreatedKey {
                    tenant_id,
                    prefix: key.prefix().to_owned(),
                    api_key: key.expose(),
                })
            }
            Effect::Err(ErrorEffect::NotFound { .. }) => {
                return Err(AdminError::UnknownTenant(tenant_id))
            }
            Effect::Err(conflict @ ErrorEffect::IdConflict { .. }) => last = Some(conflict),
            other => return Err(store_error(other)),
        }
    }
    Err(AdminError::Store(last.unwrap_or_else(|| {
        ErrorEffect::unavailable("put_api_key", "no free key prefix found")
    })))
}

/// Every tenant with its keys, by name.
///
/// # Errors
/// A store error.
pub async fn list_tenants<S: TenantStore + ?Sized>(
    store: &S,
) -> Result<Vec<TenantSummary>, AdminError> {
    let tenants = match store.list_tenants().await {
        Effect::Ok(tenants) => tenants,
        other => return Err(store_error(other)),
    };
    let keys = match store.list_api_keys().await {
        Effect::Ok(keys) => keys,
        other => return Err(store_error(other)),
    };
    Ok(tenants
        .into_iter()
        .map(|tenant| TenantSummary {
            keys: keys
                .iter()
                .filter(|key| key.tenant_id == tenant.tenant_id)
                .map(|key| KeySummary {
                    prefix: key.prefix.clone(),
                    created_at: key.created_at,
                    revoked: key.revoked,
                })
                .collect(),
            tenant_id: tenant.tenant_id,
            name: tenant.name,
            created_at: tenant.created_at,
        })
        .collect())
}

/// Revokes a key, given by its prefix or as the whole key. Idempotent. A
/// running server refuses it within its key cache time (1 s by default).
///
/// # Errors
/// [`AdminError::UnknownKey`] or a store error.
pub async fn revoke_api_key<S: TenantStore + ?Sized>(
    store: &S,
    prefix_or_key: &str,
) -> Result<(), AdminError> {
    let prefix = ApiKey::parse(prefix_or_key.trim()).map_or_else(
        || prefix_or_key.trim().to_owned(),
        |key| key.prefix().to_owned(),
    );
    match store.find_api_key(&prefix).await {
        Effect::Ok(Some(_)) => {}
        Effect::Ok(None) => return Err(AdminError::UnknownKey(prefix)),
        other => return Err(store_error(other)),
    }
    match store.revoke_api_key(&prefix).await {
        Effect::Ok(()) => Ok(()),
        Effect::Err(ErrorEffect::InvalidInput { .. }) => Err(AdminError::UnknownKey(prefix)),
        other => Err(store_error(other)),
    }
}

fn check_name(name: &str) -> Result<(), AdminError> {
    let reason = if name.is_empty() {
        Some("the name is empty".to_owned())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(format!("at most {MAX_NAME_CHARS} characters are accepted"))
    } else if name.chars().any(char::is_control) {
        Some("control characters are not accepted".to_owned())
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(AdminError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
    }
}
