//! [`Forgetting`] for [`LmdbDag`] (SPEC §10): each call is one write of
//! the writer thread (`forget_writes.rs`), durable like an append.

use async_trait::async_trait;
use eventdag::{
    ChainRemoval, Effect, ErrorEffect, Event, EventId, Forgetting, RetentionPolicy, TenantErasure,
    TenantId,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::forget_writes::{ForgetAnswer, ForgetOp, RETENTION_PREFIX};
use crate::keys::uuid_at;
use crate::record::RecordView;
use crate::writer::Command;
use crate::LmdbDag;

impl<P: Send + 'static> LmdbDag<P> {
    async fn forget_write(&self, op: ForgetOp) -> Effect<ForgetAnswer> {
        self.writer.call(|job| Command::Forget(op, job)).await
    }
}

fn unexpected<T>(operation: &str) -> Effect<T> {
    Effect::Err(ErrorEffect::unavailable(
        operation,
        "the writer answered another kind of result (a bug in the store)",
    ))
}

#[async_trait]
impl<P> Forgetting for LmdbDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn redact(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Effect<Event<P>> {
        match self
            .forget_write(ForgetOp::Redact(tenant_id, event_id, reason))
            .await
            .branch()
        {
            Ok(ForgetAnswer::Redacted(value)) => match RecordView::parse(&value) {
                Some(view) => view.event().into(),
                None => Effect::Err(ErrorEffect::corrupt(
                    Some(event_id),
                    "the redacted record is shorter than its fixed part",
                )),
            },
            Ok(_) => unexpected("redact"),
            Err(effect) => effect,
        }
    }

    async fn remove_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<ChainRemoval> {
        match self
            .forget_write(ForgetOp::RemoveChain(tenant_id, correlation_id, older_than))
            .await
            .branch()
        {
            Ok(ForgetAnswer::Removal(removal)) => Effect::Ok(removal),
            Ok(_) => unexpected("remove_chain"),
            Err(effect) => effect,
        }
    }

    async fn erase_tenant(&self, tenant_id: TenantId) -> Effect<TenantErasure> {
        match self
            .forget_write(ForgetOp::EraseTenant(tenant_id))
            .await
            .branch()
        {
            Ok(ForgetAnswer::Erased(erased)) => Effect::Ok(erased),
            Ok(_) => unexpected("erase_tenant"),
            Err(effect) => effect,
        }
    }

    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Effect<()> {
        // Checked before queuing so that a bad policy costs no write.
        if let Some(Err(error)) = policy.as_ref().map(RetentionPolicy::check) {
            return Effect::Err(error);
        }
        self.forget_write(ForgetOp::SetRetention(tenant_id, policy))
            .await
            .map(|_| ())
    }

    async fn retention_policies(&self) -> Effect<Vec<(TenantId, RetentionPolicy)>> {
        self.read_now("retention_policies", |txn, dbs| {
            let mut out = Vec::new();
            for entry in dbs.meta.prefix_iter(txn, RETENTION_PREFIX)? {
                let (key, value) = entry?;
                let tenant = uuid_at(key, RETENTION_PREFIX.len()).unwrap_or_default();
                let policy: RetentionPolicy = serde_json::from_slice(value).map_err(|err| {
                    ErrorEffect::corrupt(
                        None,
                        format!("a stored retention policy does not decode: {err}"),
                    )
                })?;
                out.push((tenant, policy));
            }
            Ok(out)
        })
        .await
    }
}
