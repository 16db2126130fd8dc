//! Tenants and their API keys, kept by the same store as the events so that
//! every node serving one store sees the same keys.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Effect, TenantId};

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// The tenant's id.
    pub tenant_id: TenantId,
    /// A unique human-readable name.
    pub name: String,
    /// When it was created, µs since the Unix epoch.
    pub created_at: u64,
}

/// An API key as stored: never the key itself, only its SHA-256 hash and a
/// short public prefix to find it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// The key's public prefix, unique; the lookup key.
    pub prefix: String,
    /// The tenant the key belongs to.
    pub tenant_id: TenantId,
    /// SHA-256 of the whole key.
    pub key_hash: [u8; 32],
    /// When it was created, µs since the Unix epoch.
    pub created_at: u64,
    /// Revoked keys are refused.
    pub revoked: bool,
}

/// The registry of tenants and API keys.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Stores a new tenant. A name or id already taken is a conflict
    /// ([`crate::ErrorEffect::IdConflict`]) and changes nothing.
    async fn create_tenant(&self, tenant: TenantRecord) -> Effect<()>;

    /// Every tenant, by name.
    async fn list_tenants(&self) -> Effect<Vec<TenantRecord>>;

    /// Stores a new key. A prefix already taken is a conflict; a tenant
    /// that does not exist is not-found.
    async fn put_api_key(&self, key: ApiKeyRecord) -> Effect<()>;

    /// The key with this prefix, revoked or not.
    async fn find_api_key(&self, prefix: &str) -> Effect<Option<ApiKeyRecord>>;

    /// Every key, by prefix.
    async fn list_api_keys(&self) -> Effect<Vec<ApiKeyRecord>>;

    /// Marks the key revoked (idempotent). Unknown prefix: invalid input.
    async fn revoke_api_key(&self, prefix: &str) -> Effect<()>;
}
