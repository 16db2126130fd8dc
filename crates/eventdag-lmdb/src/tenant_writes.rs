//! Tenant and API-key writes inside the writer's transaction, with the
//! same conflicts as `MemoryDag`.

use eventdag::{ApiKeyRecord, ErrorEffect, TenantRecord};
use heed::RwTxn;

use crate::fail::Fail;
use crate::read;
use crate::schema::Dbs;
use crate::write_signal::put_json;

/// Stores a new tenant; a taken name or id is a conflict.
pub(crate) fn create_tenant(txn: &mut RwTxn, dbs: &Dbs, tenant: &TenantRecord) -> Result<(), Fail> {
    let taken = dbs.tenants.get(txn, tenant.name.as_bytes())?.is_some()
        || dbs
            .tenant_ids
            .get(txn, tenant.tenant_id.as_bytes())?
            .is_some();
    if taken {
        return Err(ErrorEffect::IdConflict {
            event_id: tenant.tenant_id,
            difference: format!("tenant name {:?} or id is taken", tenant.name),
        }
        .into());
    }
    put_json(txn, &dbs.tenants, tenant.name.as_bytes(), tenant)?;
    dbs.tenant_ids
        .put(txn, tenant.tenant_id.as_bytes(), tenant.name.as_bytes())?;
    Ok(())
}

/// Stores a new key of an existing tenant; a taken prefix is a conflict.
pub(crate) fn put_api_key(txn: &mut RwTxn, dbs: &Dbs, key: &ApiKeyRecord) -> Result<(), Fail> {
    if dbs.tenant_ids.get(txn, key.tenant_id.as_bytes())?.is_none() {
        return Err(ErrorEffect::NotFound {
            event_id: key.tenant_id,
        }
        .into());
    }
    if dbs.api_keys.get(txn, key.prefix.as_bytes())?.is_some() {
        return Err(ErrorEffect::IdConflict {
            event_id: key.tenant_id,
            difference: format!("key prefix {:?} is taken", key.prefix),
        }
        .into());
    }
    put_json(txn, &dbs.api_keys, key.prefix.as_bytes(), key)
}

/// Marks a key revoked (idempotent); an unknown prefix is invalid input.
pub(crate) fn revoke_api_key(txn: &mut RwTxn, dbs: &Dbs, prefix: &str) -> Result<(), Fail> {
    let key: Option<ApiKeyRecord> = read::json(txn, &dbs.api_keys, prefix.as_bytes(), "API key")?;
    let Some(mut key) = key else {
        return Err(ErrorEffect::invalid(
            "prefix",
            format!("no API key has prefix {prefix:?}; `eventdag tenant list` shows the keys"),
        )
        .into());
    };
    key.revoked = true;
    put_json(txn, &dbs.api_keys, prefix.as_bytes(), &key)
}
