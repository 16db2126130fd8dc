//! `eventdag verify`: recompute stored hashes (SPEC §6).

use std::io::Write;

use anyhow::bail;
use eventdag::{EventDagExt, Verification, MAX_LIMIT};

use super::CliStore;
use crate::args::VerifyArgs;
use crate::output;

pub(super) async fn run<S: CliStore>(
    store: &S,
    args: VerifyArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let verification = match (args.id, args.chain) {
        (Some(id), _) => store.verify_event(id).await.into_result()?,
        (None, Some(chain)) => store.verify_chain(args.tenant, chain).await.into_result()?,
        (None, None) => verify_tenant(store, args.tenant).await?,
    };
    output::json_line(out, &verification)?;
    if let Some(mismatch) = verification.first_mismatch {
        bail!(
            "event {} does not match its stored hash (stored {}, computed {})",
            mismatch.event_id,
            mismatch.stored,
            mismatch.computed
        );
    }
    Ok(())
}

/// Verifies every event of a tenant in commit order (parents first).
async fn verify_tenant<S: CliStore>(store: &S, tenant: uuid::Uuid) -> anyhow::Result<Verification> {
    let mut total = Verification::default();
    let mut cursor = 0;
    loop {
        let page = store
            .events_after(tenant, cursor, MAX_LIMIT)
            .await
            .into_result()?;
        let Some(last) = page.last() else { break };
        cursor = last.cursor;
        for entry in &page {
            let one = store.verify_event(entry.event.id()).await.into_result()?;
            total.checked += one.checked;
            total.redacted.extend(one.redacted);
            total.unverifiable.extend(one.unverifiable);
            if one.first_mismatch.is_some() {
                total.first_mismatch = one.first_mismatch;
                return Ok(total);
            }
        }
    }
    Ok(total)
}
