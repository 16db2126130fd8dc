//! `TenantStore` for `MemoryDag`.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryDag;
use crate::{ApiKeyRecord, Effect, ErrorEffect, TenantRecord, TenantStore};

/// Tenants by name and keys by prefix.
#[derive(Default)]
pub(super) struct Registry {
    tenants: BTreeMap<String, TenantRecord>,
    keys: BTreeMap<String, ApiKeyRecord>,
}

impl Registry {
    /// Removes the tenant and its keys: (whether it was registered, how
    /// many keys went).
    pub(super) fn remove_tenant(&mut self, tenant_id: crate::TenantId) -> (bool, u64) {
        let before = self.keys.len();
        self.keys.retain(|_, key| key.tenant_id != tenant_id);
        let keys = (before - self.keys.len()) as u64;
        let registered = self.tenants.len();
        self.tenants
            .retain(|_, tenant| tenant.tenant_id != tenant_id);
        (registered != self.tenants.len(), keys)
    }
}

#[async_trait]
impl<P: Send + Sync> TenantStore for MemoryDag<P> {
    async fn create_tenant(&self, tenant: TenantRecord) -> Effect<()> {
        let mut registry = self.registry.write();
        let taken = registry.tenants.contains_key(&tenant.name)
            || registry
                .tenants
                .values()
                .any(|t| t.tenant_id == tenant.tenant_id);
        if taken {
            return Effect::Err(ErrorEffect::IdConflict {
                event_id: tenant.tenant_id,
                difference: format!("tenant name {:?} or id is taken", tenant.name),
            });
        }
        registry.tenants.insert(tenant.name.clone(), tenant);
        Effect::Ok(())
    }

    async fn list_tenants(&self) -> Effect<Vec<TenantRecord>> {
        Effect::Ok(self.registry.read().tenants.values().cloned().collect())
    }

    async fn put_api_key(&self, key: ApiKeyRecord) -> Effect<()> {
        let mut registry = self.registry.write();
        if !registry
            .tenants
            .values()
            .any(|t| t.tenant_id == key.tenant_id)
        {
            return Effect::Err(ErrorEffect::NotFound {
                event_id: key.tenant_id,
            });
        }
        if registry.keys.contains_key(&key.prefix) {
            return Effect::Err(ErrorEffect::IdConflict {
                event_id: key.tenant_id,
                difference: format!("key prefix {:?} is taken", key.prefix),
            });
        }
        registry.keys.insert(key.prefix.clone(), key);
        Effect::Ok(())
    }

    async fn find_api_key(&self, prefix: &str) -> Effect<Option<ApiKeyRecord>> {
        Effect::Ok(self.registry.read().keys.get(prefix).cloned())
    }

    async fn list_api_keys(&self) -> Effect<Vec<ApiKeyRecord>> {
        Effect::Ok(self.registry.read().keys.values().cloned().collect())
    }

    async fn revoke_api_key(&self, prefix: &str) -> Effect<()> {
        match self.registry.write().keys.get_mut(prefix) {
            Some(key) => {
                key.revoked = true;
                Effect::Ok(())
            }
            None => Effect::Err(ErrorEffect::invalid(
                "prefix",
                format!("no API key has prefix {prefix:?}; `eventdag tenant list` shows the keys"),
            )),
        }
    }
}
