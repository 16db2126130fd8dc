//! [`Forgetting`] over HTTP (SPEC §10, docs/server.md "Forgetting").
//!
//! Which calls repeat after a lost answer:
//! - `redact` (a second redaction answers the first mark), the policy
//!   calls (`PUT`/`DELETE` set a state) and `erase_tenant` (by id: a
//!   second erasure answers zeros) are idempotent: retried;
//! - `remove_chain` is sent once: a repeat would answer `kept: empty` for
//!   a chain the first attempt removed, which reads like a chain that
//!   never existed; a lost answer is `OutcomeUnknown` saying to read the
//!   chain.
//!
//! The key decides the tenant: `retention_policies` answers the key's
//! tenant's policy only (the server serves no other), and
//! `erase_tenant` needs the administrator key
//! ([`crate::RemoteDagBuilder::admin_key`]).

use async_trait::async_trait;
use eventdag::retention::{RetentionPlan, RetentionReport};
use eventdag::{
    ChainRemoval, Effect, ErrorEffect, Event, EventId, Forgetting, RetentionPolicy, TenantErasure,
    TenantId,
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::dag::Payload;
use crate::remote::subject;
use crate::retry::Safety;
use crate::transport::Call;
use crate::RemoteDag;

/// The answer of `GET /v1/retention`.
#[derive(Deserialize)]
struct PolicyAnswer {
    tenant_id: TenantId,
    policy: RetentionPolicy,
}

fn encode(value: &impl serde::Serialize) -> Result<Vec<u8>, ErrorEffect> {
    serde_json::to_vec(value).map_err(|error| ErrorEffect::invalid("request", error.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_one_path_segment() {
        assert_eq!(super::path_segment("acme"), "acme");
        assert_eq!(super::path_segment("a b/c?é"), "a%20b%2Fc%3F%C3%A9");
    }
}

#[async_trait]
impl<P: Payload> Forgetting for RemoteDag<P> {
    /// `POST /v1/events/{id}/redact`. Retried (idempotent). The reason is
    /// checked here as the store checks it, so that a bad one is refused
    /// with the store's own error before anything is sent.
    async fn redact(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Effect<Event<P>> {
        if let Err(error) = self
            .check_tenant(tenant_id)
            .and_then(|()| eventdag::check_redaction_reason(&reason))
        {
            return Effect::Err(error);
        }
        let body = match encode(&json!({ "reason": reason })) {
            Ok(body) => body,
            Err(error) => return Effect::Err(error),
        };
        self.get(Call::post(
            format!("/v1/events/{event_id}/redact"),
            Some(body),
            Safety::Idempotent,
            subject("redact", event_id),
        ))
        .await
    }

    /// `DELETE /v1/correlations/{id}?older_than=µs`. Sent once.
    async fn remove_chain(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
        older_than: u64,
    ) -> Effect<ChainRemoval> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        let call = Call::with_method(
            Method::DELETE,
            format!("/v1/correlations/{correlation_id}"),
            None,
            Safety::Once,
            subject("remove_chain", correlation_id),
        )
        .query("older_than", older_than);
        self.get(call).await
    }

    /// `DELETE /v1/admin/tenants/{tenant_id}` with the administrator key.
    /// Retried (idempotent by id).
    async fn erase_tenant(&self, tenant_id: TenantId) -> Effect<TenantErasure> {
        if self.transport.admin_auth.is_none() {
            return Effect::Err(ErrorEffect::invalid(
                "admin_key",
                "erasing a tenant takes the server's administrator key: build the client with .admin_key(…)",
            ));
        }
        let call = Call::with_method(
            Method::DELETE,
            format!("/v1/admin/tenants/{tenant_id}"),
            None,
            Safety::Idempotent,
            subject("erase_tenant", Uuid::nil()),
        )
        .with_admin_key();
        self.get(call).await
    }

    /// `PUT /v1/retention` (`Some`, checked here first) or
    /// `DELETE /v1/retention` (`None`), for the key's tenant. Retried.
    async fn set_retention_policy(
        &self,
        tenant_id: TenantId,
        policy: Option<RetentionPolicy>,
    ) -> Effect<()> {
        if let Err(error) = self.check_tenant(tenant_id) {
            return Effect::Err(error);
        }
        let operation = subject("set_retention_policy", Uuid::nil());
        match policy {
            Some(policy) => {
                let body = match policy.check().and_then(|()| encode(&policy)) {
                    Ok(body) => body,
                    Err(error) => return Effect::Err(error),
                };
                let call = Call::with_method(
                    Method::PUT,
                    "/v1/retention".to_owned(),
                    Some(body),
                    Safety::Idempotent,
                    operation,
                );
                self.get::<serde::de::IgnoredAny>(call).await.map(|_| ())
            }
            None => {
                let call = Call::with_method(
                    Method::DELETE,
                    "/v1/retention".to_owned(),
                    None,
                    Safety::Idempotent,
                    operation,
                );
                self.get(call).await
            }
        }
    }

    /// `GET /v1/retention`: the key's tenant's policy, or none (404
    /// `not_found`). Other tenants' policies are not visible to a key.
    async fn retention_policies(&self) -> Effect<Vec<(TenantId, RetentionPolicy)>> {
        let call = Call::get(
            "/v1/retention".to_owned(),
            subject("retention_policies", Uuid::nil()),
        );
        match self.get::<PolicyAnswer>(call).await {
            Effect::Ok(answer) => Effect::Ok(vec![(answer.tenant_id, answer.policy)]),
            // The server's "no policy" (a 404 `not_found`; a 404 of a
            // route this server lacks is `StorageUnavailable` instead).
            Effect::Err(ErrorEffect::NotFound { event_id }) if event_id.is_nil() => {
                Effect::Ok(Vec::new())
            }
            other => other.map(|answer| vec![(answer.tenant_id, answer.policy)]),
        }
    }
}

/// The answer of `POST /v1/retention/run`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerRetentionRun {
    /// Whether nothing was removed on purpose.
    pub dry_run: bool,
    /// What the policy removes now, and the old chains it keeps.
    pub plan: RetentionPlan,
    /// What the run removed (`None` for a dry run).
    pub report: Option<RetentionReport>,
    /// The archive file the server wrote (its `retention_archive_dir`).
    pub archive: Option<String>,
}

/// The answer of `DELETE /v1/admin/tenants/{tenant}`.
#[derive(Deserialize)]
struct ErasureAnswer {
    tenant_id: TenantId,
    #[serde(flatten)]
    erased: TenantErasure,
}

/// `text` as one path segment: every byte but RFC 3986's unreserved
/// characters percent-encoded.
fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

impl<P: Payload> RemoteDag<P> {
    /// Erases the tenant registered as `name` (or with that id) on the
    /// server, with the administrator key; answers its id and what was
    /// removed. An unknown name is `NotFound` (nil id). Retried
    /// (idempotent: a second erasure of the name finds no tenant).
    pub async fn erase_named_tenant(&self, name: &str) -> Effect<(TenantId, TenantErasure)> {
        if self.transport.admin_auth.is_none() {
            return Effect::Err(ErrorEffect::invalid(
                "admin_key",
                "erasing a tenant takes the server's administrator key: build the client with .admin_key(…)",
            ));
        }
        let call = Call::with_method(
            Method::DELETE,
            format!("/v1/admin/tenants/{}", path_segment(name)),
            None,
            Safety::Idempotent,
            subject("erase_tenant", Uuid::nil()),
        )
        .with_admin_key();
        self.get::<ErasureAnswer>(call)
            .await
            .map(|answer| (answer.tenant_id, answer.erased))
    }

    /// Runs the key's tenant's retention policy on the server
    /// (`POST /v1/retention/run`): with `dry_run` only the plan, else the
    /// plan and what was removed. A tenant without a policy is
    /// `InvalidInput { field: "retention policy" }`. Retried only when
    /// `dry_run`; a real run is sent once.
    pub async fn run_retention_on_server(&self, dry_run: bool) -> Effect<ServerRetentionRun> {
        let safety = if dry_run {
            Safety::Idempotent
        } else {
            Safety::Once
        };
        let call = Call::post(
            "/v1/retention/run".to_owned(),
            None,
            safety,
            subject("run_retention", Uuid::nil()),
        )
        .query("dry_run", dry_run);
        match self.get(call).await {
            Effect::Err(ErrorEffect::NotFound { event_id }) if event_id.is_nil() => {
                Effect::Err(ErrorEffect::invalid(
                    "retention policy",
                    "the tenant has no retention policy: set one first (PUT /v1/retention)",
                ))
            }
            other => other,
        }
    }
}
