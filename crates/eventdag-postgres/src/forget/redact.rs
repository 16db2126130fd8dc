//! Redaction: one transaction that locks the event's row, replaces its
//! payload by JSON `null`, stores the mark and logs change 3.

use eventdag::{
    check_redaction_reason, now_micros, payload_hash, ErrorEffect, Event, EventId, Redaction,
    TenantId,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::sql;
use crate::codec::EventRow;
use crate::commit::{CommitWatch, Recovery};
use crate::notify::PgChange;
use crate::sql_error::nothing_written;
use crate::PgDag;

const OPERATION: &str = "redact";

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// [`eventdag::Forgetting::redact`] under the operation timeout.
    pub(super) async fn redact_event(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
    ) -> Result<Event<P>, ErrorEffect> {
        // Bad input is refused before anything is read or locked.
        check_redaction_reason(&reason)?;
        Redaction::empty_payload::<P>(event_id)?;
        let watch = CommitWatch::default();
        let call = self.redact_in_transaction(tenant_id, event_id, reason, &watch);
        self.bounded_write(OPERATION, &watch, call).await
    }

    async fn redact_in_transaction(
        &self,
        tenant_id: TenantId,
        event_id: EventId,
        reason: String,
        watch: &CommitWatch,
    ) -> Result<Event<P>, ErrorEffect> {
        let sql = |error: sqlx::Error| nothing_written(self.sql(OPERATION, &error));
        let mut tx = self.inner.pool.begin().await.map_err(sql)?;
        let row: Option<EventRow> = sqlx::query_as(&sql::REDACT_TARGET)
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(sql)?;
        // Another tenant's event is not found, as every read answers.
        let Some(mut row) = row.filter(|row| row.tenant_id == tenant_id) else {
            return Err(ErrorEffect::NotFound { event_id });
        };
        if row.redaction.is_some() {
            // Idempotent: the first mark stays; dropping the transaction
            // releases the row.
            return row.into_event();
        }
        // The bytes the hash covered: for rows written before migration
        // 0002, serde_json's encoding of jsonb's rendering, as hashed then.
        let removed = row.appended_text()?.into_owned();
        let mark = Redaction {
            reason,
            redacted_at: now_micros(),
            payload_hash: payload_hash(removed.as_bytes()),
        };
        let mark_text = serde_json::to_string(&mark).map_err(|err| {
            ErrorEffect::invalid("reason", format!("the mark cannot be encoded: {err}"))
        })?;
        sqlx::query(sql::REDACT)
            .bind(tenant_id)
            .bind(event_id)
            .bind(&mark_text)
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
        self.commit(tx, watch, OPERATION, event_id, Recovery::Forget)
            .await?;
        self.announce(vec![PgChange::Redacted {
            tenant_id,
            event_id,
        }
        .payload()]);
        // The row as a read now returns it.
        row.payload = "null".to_owned();
        row.redaction = Some(mark_text);
        row.into_event()
    }
}
