//! Forgetting (SPEC §10): `redact`, `retention set|show|clear|run` and
//! `tenant delete`, on every store. On the embedded, PostgreSQL, tiered
//! and memory stores they call `eventdag::Forgetting` (and the shared
//! retention planner) directly; over `--store http://…` they go through
//! the server's routes, which see only the key's tenant (docs/server.md).

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use eventdag::retention::{apply_retention, plan_retention, RetentionPlan, RetentionReport};
use eventdag::{now_micros, Event, RawJson, RetentionPolicy, RetentionRule, TenantId};
use eventdag_server::RetentionArchive;
use serde::Serialize;
use serde_json::json;

use super::CliStore;
use crate::args::{RetentionCommand, TenantCommand};
use crate::output;

/// `eventdag redact ID --reason TEXT [--tenant T]`.
pub(super) async fn redact<S: CliStore>(
    store: &S,
    tenant: TenantId,
    id: eventdag::EventId,
    reason: String,
    pretty: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let event = store.redact(tenant, id, reason).await.into_result()?;
    output::events(out, &[event], pretty)
}

/// One retention run of one tenant, as printed (the server's shape).
#[derive(Debug, Serialize)]
struct RunLine {
    tenant_id: TenantId,
    dry_run: bool,
    plan: RetentionPlan,
    report: Option<RetentionReport>,
    archive: Option<String>,
}

/// `eventdag retention …`.
pub(super) async fn retention<S: CliStore>(
    store: &S,
    command: RetentionCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        RetentionCommand::Set {
            tenant,
            max_age,
            kind,
            rules,
        } => {
            let mut policy = RetentionPolicy::default();
            if let Some(max_age) = max_age {
                let age =
                    crate::args::parse_age(&max_age.to_string()).map_err(anyhow::Error::msg)?;
                policy.rules.push(RetentionRule {
                    kind: kind.map(eventdag::EventKind),
                    max_age_seconds: age,
                });
            }
            policy.rules.extend(rules);
            if policy.rules.is_empty() {
                bail!("give at least one rule: --max-age 30d [--kind K], or --rule kind=K,max-age=D (to keep everything, use `retention clear`)");
            }
            store
                .set_retention_policy(tenant, Some(policy.clone()))
                .await
                .into_result()?;
            output::json_line(out, &json!({"tenant_id": tenant, "policy": policy}))
        }
        RetentionCommand::Show { tenant, all } => {
            let policies = store.retention_policies().await.into_result()?;
            if all {
                refuse_all_over_http(store, "retention show --all")?;
                for (tenant_id, policy) in policies {
                    output::json_line(out, &json!({"tenant_id": tenant_id, "policy": policy}))?;
                }
                return Ok(());
            }
            let (tenant_id, policy) = own_policy(store, &policies, tenant)?;
            output::json_line(out, &json!({"tenant_id": tenant_id, "policy": policy}))
        }
        RetentionCommand::Clear { tenant } => {
            store
                .set_retention_policy(tenant, None)
                .await
                .into_result()?;
            output::json_line(out, &json!({"tenant_id": tenant, "cleared": true}))
        }
        RetentionCommand::Run {
            tenant,
            all,
            dry_run,
            archive,
        } => {
            let policies = store.retention_policies().await.into_result()?;
            let chosen: Vec<(TenantId, RetentionPolicy)> = if all {
                refuse_all_over_http(store, "retention run --all")?;
                policies
            } else {
                vec![own_policy(store, &policies, tenant)?]
            };
            for (tenant_id, policy) in chosen {
                let line = run_one(store, tenant_id, &policy, dry_run, archive.as_deref()).await?;
                output::json_line(out, &line)?;
            }
            Ok(())
        }
    }
}

/// The policy of `tenant` among `policies`, or why there is none. Over
/// HTTP the only policy listed is the key's tenant's, whatever `--tenant`
/// says (the server answers for the key).
fn own_policy<S: CliStore>(
    store: &S,
    policies: &[(TenantId, RetentionPolicy)],
    tenant: TenantId,
) -> anyhow::Result<(TenantId, RetentionPolicy)> {
    let found = if store.remote().is_some() {
        policies.first()
    } else {
        policies.iter().find(|(id, _)| *id == tenant)
    };
    match found {
        Some(found) => Ok(found.clone()),
        None => bail!("tenant {tenant} has no retention policy: everything is kept (set one with `eventdag retention set`)"),
    }
}

fn refuse_all_over_http<S: CliStore>(store: &S, what: &str) -> anyhow::Result<()> {
    if store.remote().is_some() {
        bail!("{what} needs every tenant's policy, and an API key sees only its own tenant: drop --all, or run it on the server's store");
    }
    Ok(())
}

/// Plans and (unless `dry_run`) applies one tenant's policy.
async fn run_one<S: CliStore>(
    store: &S,
    tenant: TenantId,
    policy: &RetentionPolicy,
    dry_run: bool,
    archive: Option<&Path>,
) -> anyhow::Result<RunLine> {
    // Over HTTP the plan is the server's (it reads the tenant's log,
    // which the API does not serve as pages); the removals then go
    // through the client chain by chain, so that a local archive is
    // written before each chain goes. Without an archive the server runs
    // the whole policy itself (and archives into its own
    // retention_archive_dir, if set).
    let plan = match store.remote() {
        Some(remote) if dry_run || archive.is_some() => {
            remote
                .run_retention_on_server(true)
                .await
                .into_result()?
                .plan
        }
        Some(remote) => {
            let run = remote.run_retention_on_server(false).await.into_result()?;
            return Ok(RunLine {
                tenant_id: run.plan.tenant_id,
                dry_run: false,
                plan: run.plan,
                report: run.report,
                archive: run.archive,
            });
        }
        None => plan_retention(store, tenant, policy, now_micros())
            .await
            .into_result()?,
    };
    if dry_run {
        return Ok(RunLine {
            tenant_id: plan.tenant_id,
            dry_run,
            plan,
            report: None,
            archive: None,
        });
    }
    let report = match archive {
        Some(path) => {
            let mut file = RetentionArchive::at(path.to_path_buf());
            let mut write = |events: &[Event<RawJson>]| file.write(events);
            let report = apply_retention(store, &plan, Some(&mut write))
                .await
                .into_result()
                .with_context(|| format!("retention run of tenant {tenant}"))?;
            (report, file.written().map(|p| p.display().to_string()))
        }
        None => (
            apply_retention(store, &plan, None)
                .await
                .into_result()
                .with_context(|| format!("retention run of tenant {tenant}"))?,
            None,
        ),
    };
    Ok(RunLine {
        tenant_id: plan.tenant_id,
        dry_run,
        plan,
        report: Some(report.0),
        archive: report.1,
    })
}

/// `eventdag tenant delete NAME --yes`.
pub(crate) async fn delete_tenant<S: CliStore>(
    store: &S,
    command: TenantCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let TenantCommand::Delete { name, yes } = command else {
        bail!("not a tenant deletion");
    };
    if !yes {
        bail!("`tenant delete {name}` removes every event, signal, queue entry, retention policy and API key of the tenant, for good: add --yes to do it");
    }
    let (tenant_id, erased) = match store.remote() {
        Some(remote) => remote.erase_named_tenant(&name).await.into_result()?,
        None => {
            let tenant_id = match TenantId::parse_str(&name) {
                Ok(id) => id,
                Err(_) => store
                    .list_tenants()
                    .await
                    .into_result()?
                    .into_iter()
                    .find(|record| record.name == name)
                    .map(|record| record.tenant_id)
                    .with_context(|| {
                        format!("no tenant is named {name:?} (see `eventdag tenant list`)")
                    })?,
            };
            (
                tenant_id,
                store.erase_tenant(tenant_id).await.into_result()?,
            )
        }
    };
    output::json_line(
        out,
        &json!({
            "tenant_id": tenant_id,
            "events": erased.events,
            "api_keys": erased.api_keys,
            "registered": erased.registered,
        }),
    )
}
