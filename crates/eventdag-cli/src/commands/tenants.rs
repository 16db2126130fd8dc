//! `eventdag tenant …` and `eventdag key …`: tenants and API keys live in
//! the store, so a running server sees changes without a restart.

use std::io::Write;

use super::CliStore;
use crate::args::{KeyCommand, TenantCommand};
use crate::output;

pub(super) async fn tenant<S: CliStore>(
    store: &S,
    command: TenantCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { name } => {
            output::json_line(out, &eventdag_server::create_tenant(store, &name).await?)
        }
        TenantCommand::List => {
            for tenant in eventdag_server::list_tenants(store).await? {
                output::json_line(out, &tenant)?;
            }
            Ok(())
        }
        delete @ TenantCommand::Delete { .. } => {
            super::forget::delete_tenant(store, delete, out).await
        }
    }
}

pub(super) async fn key<S: CliStore>(
    store: &S,
    command: KeyCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create { tenant } => {
            output::json_line(out, &eventdag_server::create_api_key(store, tenant).await?)
        }
        KeyCommand::Revoke { prefix } => {
            eventdag_server::revoke_api_key(store, &prefix).await?;
            output::json_line(out, &serde_json::json!({ "revoked": prefix }))
        }
    }
}
