//! `TenantStore` for `LmdbDag`: tenants and hashed API keys live in the
//! same environment as the events, written through the same writer.

use async_trait::async_trait;
use eventdag::{ApiKeyRecord, Effect, TenantRecord, TenantStore};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::fail::Fail;
use crate::read;
use crate::schema::Db;
use crate::writer::Command;
use crate::LmdbDag;

fn all<T: DeserializeOwned>(txn: &heed::RoTxn, db: &Db, what: &str) -> Result<Vec<T>, Fail> {
    let mut out = Vec::new();
    for entry in db.iter(txn)? {
        let (key, _) = entry?;
        if let Some(value) = read::json(txn, db, key, what)? {
            out.push(value);
        }
    }
    Ok(out)
}

#[async_trait]
impl<P> TenantStore for LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn create_tenant(&self, tenant: TenantRecord) -> Effect<()> {
        self.writer
            .call(|job| Command::CreateTenant(tenant, job))
            .await
    }

    async fn list_tenants(&self) -> Effect<Vec<TenantRecord>> {
        self.read_blocking("list_tenants", |txn, dbs| all(txn, &dbs.tenants, "tenant"))
            .await
    }

    async fn put_api_key(&self, key: ApiKeyRecord) -> Effect<()> {
        self.writer.call(|job| Command::PutApiKey(key, job)).await
    }

    async fn find_api_key(&self, prefix: &str) -> Effect<Option<ApiKeyRecord>> {
        self.read_now("find_api_key", |txn, dbs| {
            read::json(txn, &dbs.api_keys, prefix.as_bytes(), "API key")
        })
        .await
    }

    async fn list_api_keys(&self) -> Effect<Vec<ApiKeyRecord>> {
        self.read_blocking("list_api_keys", |txn, dbs| {
            all(txn, &dbs.api_keys, "API key")
        })
        .await
    }

    async fn revoke_api_key(&self, prefix: &str) -> Effect<()> {
        let prefix = prefix.to_string();
        self.writer
            .call(|job| Command::RevokeApiKey(prefix, job))
            .await
    }
}
