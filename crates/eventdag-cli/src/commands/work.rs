//! `eventdag work`: the work queue (docs/queues.md) from the command
//! line. `claim` prints each claimed event as a JSON line with its
//! attempt and lease; the other subcommands finish a lease by its token.

use std::io::Write;
use std::time::Duration;

use eventdag::{AckLease, ClaimRequest, EventKind, LeaseRef};
use serde_json::json;
use uuid::Uuid;

use super::CliStore;
use crate::args::WorkCommand;
use crate::output;

/// Runs one `work` subcommand.
pub(super) async fn run<S: CliStore>(
    store: &S,
    command: WorkCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        WorkCommand::Claim {
            consumer,
            limit,
            lease_ms,
            kind,
            chain,
            max_attempts,
            signal_dead_letters,
            tenant,
        } => {
            let mut request =
                ClaimRequest::new(tenant, consumer, limit, Duration::from_millis(lease_ms))
                    .max_attempts(max_attempts)
                    .signal_dead_letters(signal_dead_letters);
            request.kind = kind.map(EventKind);
            request.correlation_id = chain;
            for claimed in store.claim(request).await.into_result()? {
                output::json_line(
                    out,
                    &json!({
                        "event": claimed.event,
                        "attempt": claimed.attempt,
                        "lease": claimed.lease,
                    }),
                )?;
            }
            Ok(())
        }
        WorkCommand::Extend {
            id,
            token,
            lease_ms,
            tenant,
        } => {
            let lease = store
                .extend_lease(
                    lease_ref(tenant, id, token),
                    Duration::from_millis(lease_ms),
                )
                .await
                .into_result()?;
            output::json_line(out, &json!({ "event_id": id, "lease": lease }))
        }
        WorkCommand::Release {
            id,
            token,
            delay_ms,
            tenant,
        } => {
            store
                .release_lease(
                    lease_ref(tenant, id, token),
                    Duration::from_millis(delay_ms),
                )
                .await
                .into_result()?;
            output::json_line(out, &json!({ "released": id, "delay_ms": delay_ms }))
        }
        WorkCommand::Ack {
            id,
            token,
            upstream,
            tenant,
        } => {
            let lease = token.map_or(AckLease::Forced, AckLease::Token);
            store
                .acknowledge_leased(tenant, id, lease, upstream)
                .await
                .into_result()?;
            output::json_line(
                out,
                &json!({ "acknowledged": id, "upstream": upstream, "forced": token.is_none() }),
            )
        }
        WorkCommand::Dead {
            limit,
            after,
            tenant,
        } => {
            for letter in store
                .dead_letters(tenant, after, limit)
                .await
                .into_result()?
            {
                output::json_line(
                    out,
                    &json!({
                        "event": letter.event,
                        "attempts": letter.attempts,
                        "dead_lettered_at": letter.dead_lettered_at,
                        "last_consumer": letter.last_consumer,
                    }),
                )?;
            }
            Ok(())
        }
        WorkCommand::Requeue { id, tenant } => {
            store.requeue(tenant, id).await.into_result()?;
            output::json_line(out, &json!({ "requeued": id }))
        }
        WorkCommand::Show { id, tenant } => {
            let entry = store.queue_entry(tenant, id).await.into_result()?;
            output::json_line(out, &json!({ "event_id": id, "queue": entry }))
        }
    }
}

fn lease_ref(tenant_id: Uuid, event_id: Uuid, token: Uuid) -> LeaseRef {
    LeaseRef {
        tenant_id,
        event_id,
        token,
    }
}
