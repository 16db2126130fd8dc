//! `TenantStore`: the tenant registry and hashed API keys, in the same
//! database as the events so every node sees the same keys.

use eventdag::{async_trait, ApiKeyRecord, Effect, ErrorEffect, TenantRecord, TenantStore};
use uuid::Uuid;

use crate::codec::{db_u64, model_u64};
use crate::sql_error::{constraint, is_foreign_key_violation, violated_unique};
use crate::PgDag;

type KeyRow = (String, Uuid, Vec<u8>, i64, bool);

fn key_record(row: KeyRow) -> Result<ApiKeyRecord, ErrorEffect> {
    let (prefix, tenant_id, hash, created_at, revoked) = row;
    let key_hash: [u8; 32] = hash.as_slice().try_into().map_err(|_| {
        ErrorEffect::corrupt(
            None,
            format!("API key {prefix:?}: stored hash is not 32 bytes"),
        )
    })?;
    Ok(ApiKeyRecord {
        created_at: model_u64(None, "created_at", created_at)?,
        prefix,
        tenant_id,
        key_hash,
        revoked,
    })
}

const KEY_COLUMNS: &str = "prefix, tenant_id, key_hash, created_at, revoked";

impl<P> PgDag<P> {
    async fn create_tenant_row(&self, tenant: TenantRecord) -> Result<(), ErrorEffect> {
        let result = sqlx::query(
            "INSERT INTO eventdag_tenants (tenant_id, name, created_at) VALUES ($1, $2, $3)",
        )
        .bind(tenant.tenant_id)
        .bind(&tenant.name)
        .bind(db_u64("created_at", tenant.created_at)?)
        .execute(&self.inner.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match violated_unique(&error).as_deref() {
                Some(constraint::TENANT_ID | constraint::TENANT_NAME) => {
                    Err(ErrorEffect::IdConflict {
                        event_id: tenant.tenant_id,
                        difference: format!("tenant name {:?} or id is taken", tenant.name),
                    })
                }
                _ => Err(self.sql("create_tenant", &error)),
            },
        }
    }

    async fn put_key_row(&self, key: ApiKeyRecord) -> Result<(), ErrorEffect> {
        let result = sqlx::query(
            "INSERT INTO eventdag_api_keys (prefix, tenant_id, key_hash, created_at, revoked) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.prefix)
        .bind(key.tenant_id)
        .bind(key.key_hash.as_slice())
        .bind(db_u64("created_at", key.created_at)?)
        .bind(key.revoked)
        .execute(&self.inner.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_foreign_key_violation(&error) => Err(ErrorEffect::NotFound {
                event_id: key.tenant_id,
            }),
            Err(error) => match violated_unique(&error).as_deref() {
                Some(constraint::API_KEY_PREFIX) => Err(ErrorEffect::IdConflict {
                    event_id: key.tenant_id,
                    difference: format!("key prefix {:?} is taken", key.prefix),
                }),
                _ => Err(self.sql("put_api_key", &error)),
            },
        }
    }
}

#[async_trait]
impl<P: Send + Sync> TenantStore for PgDag<P> {
    async fn create_tenant(&self, tenant: TenantRecord) -> Effect<()> {
        self.bounded("create_tenant", self.create_tenant_row(tenant))
            .await
            .into()
    }

    async fn list_tenants(&self) -> Effect<Vec<TenantRecord>> {
        self.bounded("list_tenants", async {
            let rows: Vec<(Uuid, String, i64)> = sqlx::query_as(
                "SELECT tenant_id, name, created_at FROM eventdag_tenants ORDER BY name",
            )
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.sql("list_tenants", &error))?;
            rows.into_iter()
                .map(|(tenant_id, name, created_at)| {
                    Ok(TenantRecord {
                        tenant_id,
                        name,
                        created_at: model_u64(None, "created_at", created_at)?,
                    })
                })
                .collect()
        })
        .await
        .into()
    }

    async fn put_api_key(&self, key: ApiKeyRecord) -> Effect<()> {
        self.bounded("put_api_key", self.put_key_row(key))
            .await
            .into()
    }

    async fn find_api_key(&self, prefix: &str) -> Effect<Option<ApiKeyRecord>> {
        self.bounded("find_api_key", async {
            let row: Option<KeyRow> = sqlx::query_as(&format!(
                "SELECT {KEY_COLUMNS} FROM eventdag_api_keys WHERE prefix = $1"
            ))
            .bind(prefix)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|error| self.sql("find_api_key", &error))?;
            row.map(key_record).transpose()
        })
        .await
        .into()
    }

    async fn list_api_keys(&self) -> Effect<Vec<ApiKeyRecord>> {
        self.bounded("list_api_keys", async {
            let rows: Vec<KeyRow> = sqlx::query_as(&format!(
                "SELECT {KEY_COLUMNS} FROM eventdag_api_keys ORDER BY prefix"
            ))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.sql("list_api_keys", &error))?;
            rows.into_iter().map(key_record).collect()
        })
        .await
        .into()
    }

    async fn revoke_api_key(&self, prefix: &str) -> Effect<()> {
        self.bounded("revoke_api_key", async {
            let result =
                sqlx::query("UPDATE eventdag_api_keys SET revoked = true WHERE prefix = $1")
                    .bind(prefix)
                    .execute(&self.inner.pool)
                    .await
                    .map_err(|error| self.sql("revoke_api_key", &error))?;
            if result.rows_affected() == 0 {
                return Err(ErrorEffect::invalid(
                    "prefix",
                    format!(
                        "no API key has prefix {prefix:?}; `eventdag tenant list` shows the keys"
                    ),
                ));
            }
            Ok(())
        })
        .await
        .into()
    }
}
