//! Reading signals and chain state: the listings of an event's signals
//! and of a tenant's signal log, and a chain's state.

use eventdag::backend::capped;
use eventdag::{ChainState, ErrorEffect, EventId, SignalRecord, TenantId, UpstreamSignal};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::codec::{model_u64, sql_limit};
use crate::PgDag;

const SIGNAL_COLUMNS: &str =
    "s.tenant_id, s.sequence, s.from_id, s.correlation_id, s.signal::text, s.ts, s.delivered_to";

type SignalRow = (Uuid, i64, Uuid, Uuid, String, i64, Vec<Uuid>);

fn signal_record(row: SignalRow) -> Result<SignalRecord, ErrorEffect> {
    let (tenant_id, sequence, from, correlation_id, signal, ts, delivered_to) = row;
    let signal: UpstreamSignal = serde_json::from_str(&signal).map_err(|err| {
        ErrorEffect::corrupt(
            Some(from),
            format!("stored signal {sequence} does not decode: {err}"),
        )
    })?;
    Ok(SignalRecord {
        sequence: model_u64(Some(from), "signal sequence", sequence)?,
        tenant_id,
        from,
        correlation_id,
        signal,
        timestamp: model_u64(Some(from), "signal timestamp", ts)?,
        delivered_to,
    })
}

impl<P> PgDag<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    pub(crate) async fn signals_for_event(
        &self,
        event_id: EventId,
        limit: usize,
    ) -> Result<Vec<SignalRecord>, ErrorEffect> {
        self.bounded("signals_of", async {
            let tenant = self.tenant_of(event_id).await?;
            let limit = capped(limit);
            if limit == 0 {
                return Ok(Vec::new());
            }
            let rows: Vec<SignalRow> = sqlx::query_as(&format!(
                "SELECT {SIGNAL_COLUMNS} FROM eventdag_signal_deliveries d \
                 JOIN eventdag_signals s ON s.tenant_id = d.tenant_id AND s.sequence = d.sequence \
                 WHERE d.tenant_id = $1 AND d.event_id = $2 ORDER BY d.sequence LIMIT $3"
            ))
            .bind(tenant)
            .bind(event_id)
            .bind(sql_limit(limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.sql("signals_of", &error))?;
            rows.into_iter().map(signal_record).collect()
        })
        .await
    }

    pub(crate) async fn signals_since(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<SignalRecord>, ErrorEffect> {
        self.bounded("signals_after", async {
            let limit = capped(limit);
            let Ok(after) = i64::try_from(after) else {
                return Ok(Vec::new());
            };
            if limit == 0 {
                return Ok(Vec::new());
            }
            let rows: Vec<SignalRow> = sqlx::query_as(&format!(
                "SELECT {SIGNAL_COLUMNS} FROM eventdag_signals s \
                 WHERE s.tenant_id = $1 AND s.sequence > $2 ORDER BY s.sequence LIMIT $3"
            ))
            .bind(tenant_id)
            .bind(after)
            .bind(sql_limit(limit))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|error| self.sql("signals_after", &error))?;
            rows.into_iter().map(signal_record).collect()
        })
        .await
    }

    pub(crate) async fn chain_state_of(
        &self,
        tenant_id: TenantId,
        correlation_id: EventId,
    ) -> Result<ChainState, ErrorEffect> {
        self.bounded("chain_state", async {
            let row: Option<(Option<String>, Option<i64>)> = sqlx::query_as(
                "SELECT cancelled, backpressure_until FROM eventdag_chains \
                 WHERE tenant_id = $1 AND correlation_id = $2",
            )
            .bind(tenant_id)
            .bind(correlation_id)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|error| self.sql("chain_state", &error))?;
            let Some((cancelled, until)) = row else {
                return Ok(ChainState::default());
            };
            Ok(ChainState {
                cancelled,
                backpressure_until: until
                    .map(|until| model_u64(Some(correlation_id), "backpressure_until", until))
                    .transpose()?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use eventdag::EventFlags;

    /// The SQL predicate `(flags & 17) = 1` of the queue is
    /// `EventFlags::awaits_ack`.
    #[test]
    fn queue_predicate_matches_the_flags() {
        assert_eq!(
            (EventFlags::REQUIRES_ACK | EventFlags::ACKNOWLEDGED).bits(),
            17
        );
        for bits in 0..=u8::MAX {
            let flags = EventFlags::from_bits_retain(bits);
            assert_eq!(flags.awaits_ack(), bits & 17 == 1, "flags {bits:#010b}");
        }
    }
}
