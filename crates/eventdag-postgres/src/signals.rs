//! Signals, acknowledgments and chain state. A signal takes its tenant's
//! log row lock (the same row appends take), so a `Cancel` and an append
//! into the same chain are ordered: the append either committed before the
//! cancel or sees it.

use eventdag::{
    capped, now_micros, ChainState, ErrorEffect, EventId, SignalRecord, TenantId, UpstreamSignal,
    MAX_CHAIN_EVENTS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::codec::{db_u64, model_u64, sql_limit};
use crate::notify::PgChange;
use crate::PgDag;

const SENDER: &str = "\
SELECT e.tenant_id, e.correlation_id FROM eventdag_event_ids i \
JOIN eventdag_events e ON e.tenant_id = i.tenant_id AND e.event_id = i.event_id \
WHERE i.event_id = $1";

const NEXT_SIGNAL: &str = "\
INSERT INTO eventdag_tenant_logs (tenant_id, last_signal_sequence) VALUES ($1, 1) \
ON CONFLICT (tenant_id) DO UPDATE \
  SET last_signal_sequence = eventdag_tenant_logs.last_signal_sequence + 1 \
RETURNING last_signal_sequence";

const COMPENSATE: &str = "\
UPDATE eventdag_events SET flags = flags | 32 WHERE tenant_id = $1 AND event_id = $2 RETURNING 1";

/// As `queries::ANCESTORS` (see there why each probe is `LATERAL … OFFSET
/// 0`), ids only.
const ANCESTOR_IDS: &str = "\
WITH RECURSIVE walk(event_id) AS ( \
  SELECT $1::uuid \
  UNION \
  SELECT p.parent_id FROM walk w \
  CROSS JOIN LATERAL (SELECT e.parents FROM eventdag_events e \
    WHERE e.tenant_id = $2 AND e.event_id = w.event_id OFFSET 0) AS e \
  CROSS JOIN LATERAL unnest(e.parents) AS p(parent_id) \
) \
SELECT e.event_id FROM walk w CROSS JOIN LATERAL ( \
  SELECT e.event_id, e.depth, e.lane, e.sequence FROM eventdag_events e \
  WHERE e.tenant_id = $2 AND e.event_id = w.event_id OFFSET 0 \
) AS e \
ORDER BY e.depth DESC, e.lane DESC, e.sequence DESC LIMIT $3";

const STORE_SIGNAL: &str = "\
WITH s AS ( \
  INSERT INTO eventdag_signals (tenant_id, sequence, from_id, correlation_id, signal, ts, delivered_to) \
  VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) \
), d AS ( \
  INSERT INTO eventdag_signal_deliveries (tenant_id, event_id, sequence) \
  SELECT $1, x, $2 FROM unnest(array_prepend($3::uuid, $7::uuid[])) AS x \
), c AS ( \
  INSERT INTO eventdag_chains (tenant_id, correlation_id, cancelled, backpressure_until) \
  SELECT $1, $8, $9, $10 WHERE $11 \
  ON CONFLICT (tenant_id, correlation_id) DO UPDATE SET \
    cancelled = COALESCE(excluded.cancelled, eventdag_chains.cancelled), \
    backpressure_until = COALESCE(excluded.backpressure_until, eventdag_chains.backpressure_until) \
) \
SELECT 1";

const LOCK_TENANT: &str = "\
INSERT INTO eventdag_tenant_logs (tenant_id) VALUES ($1) \
ON CONFLICT (tenant_id) DO UPDATE SET last_event_cursor = eventdag_tenant_logs.last_event_cursor";

const ACK: &str = "\
WITH u AS ( \
  UPDATE eventdag_events e SET flags = e.flags | 16 FROM eventdag_event_ids i \
  WHERE i.event_id = $1 AND e.tenant_id = i.tenant_id AND e.event_id = i.event_id \
    AND (e.flags & 16) = 0 \
  RETURNING e.tenant_id \
) \
SELECT u.tenant_id FROM u";

const SIGNAL_COLUMNS: &str =
    "s.tenant_id, s.sequence, s.from_id, s.correlation_id, s.signal::text, s.ts, s.delivered_to";

fn acknowledged(tenant_id: TenantId, event_id: EventId) -> String {
    PgChange::Acknowledged {
        tenant_id,
        event_id,
    }
    .payload()
}

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
    pub(crate) async fn signal(
        &self,
        from: EventId,
        signal: UpstreamSignal,
    ) -> Result<(), ErrorEffect> {
        self.bounded("signal_upstream", async {
            let sql = |error: sqlx::Error| self.sql("signal_upstream", &error);
            let mut tx = self.inner.pool.begin().await.map_err(sql)?;
            let (tenant, correlation): (Uuid, Uuid) = sqlx::query_as(SENDER)
                .bind(from)
                .fetch_optional(&mut *tx)
                .await
                .map_err(sql)?
                .ok_or(ErrorEffect::NotFound { event_id: from })?;
            let notifications = self
                .store_signal(&mut tx, tenant, correlation, from, signal)
                .await?;
            tx.commit().await.map_err(sql)?;
            self.announce(&notifications).await;
            Ok(())
        })
        .await
    }

    /// Stores and delivers a signal inside `tx`; takes the tenant's log
    /// row lock.
    async fn store_signal(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        tenant: TenantId,
        correlation: EventId,
        from: EventId,
        signal: UpstreamSignal,
    ) -> Result<Vec<String>, ErrorEffect> {
        let sql = |error: sqlx::Error| self.sql("signal_upstream", &error);
        let (sequence,): (i64,) = sqlx::query_as(NEXT_SIGNAL)
            .bind(tenant)
            .fetch_one(&mut **tx)
            .await
            .map_err(sql)?;
        if let UpstreamSignal::CompensationComplete { event_id } = &signal {
            let found: Option<(i32,)> = sqlx::query_as(COMPENSATE)
                .bind(tenant)
                .bind(event_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(sql)?;
            if found.is_none() {
                return Err(ErrorEffect::NotFound {
                    event_id: *event_id,
                });
            }
        }
        let walked: Vec<(Uuid,)> = sqlx::query_as(ANCESTOR_IDS)
            .bind(from)
            .bind(tenant)
            .bind(sql_limit(MAX_CHAIN_EVENTS))
            .fetch_all(&mut **tx)
            .await
            .map_err(sql)?;
        let delivered_to: Vec<Uuid> = walked.into_iter().skip(1).map(|(id,)| id).collect();
        let (chain, cancelled, until) = match &signal {
            UpstreamSignal::Cancel {
                correlation_id,
                reason,
            } => (Some(*correlation_id), Some(reason.clone()), None),
            UpstreamSignal::Backpressure { until } => {
                (Some(correlation), None, Some(db_u64("until", *until)?))
            }
            _ => (None, None, None),
        };
        let encoded = serde_json::to_string(&signal).map_err(|err| {
            ErrorEffect::invalid("signal", format!("signal cannot be encoded: {err}"))
        })?;
        let sequence_u64 = model_u64(Some(from), "signal sequence", sequence)?;
        let mut notifications = vec![PgChange::Signalled {
            tenant_id: tenant,
            sequence: sequence_u64,
            from,
            signal: signal.type_name().to_owned(),
        }
        .payload()];
        if let Some(correlation_id) = chain {
            notifications.push(
                PgChange::ChainChanged {
                    tenant_id: tenant,
                    correlation_id,
                }
                .payload(),
            );
        }
        sqlx::query(STORE_SIGNAL)
            .bind(tenant)
            .bind(sequence)
            .bind(from)
            .bind(correlation)
            .bind(encoded)
            .bind(db_u64("timestamp", now_micros())?)
            .bind(&delivered_to)
            .bind(chain.unwrap_or_default())
            .bind(cancelled)
            .bind(until)
            .bind(chain.is_some())
            .execute(&mut **tx)
            .await
            .map_err(sql)?;
        Ok(notifications)
    }

    pub(crate) async fn ack(
        &self,
        event_id: EventId,
        send_upstream: bool,
    ) -> Result<(), ErrorEffect> {
        self.bounded("acknowledge", async {
            let sql = |error: sqlx::Error| self.sql("acknowledge", &error);
            if !send_upstream {
                let updated: Option<(Uuid,)> = sqlx::query_as(ACK)
                    .bind(event_id)
                    .fetch_optional(&self.inner.pool)
                    .await
                    .map_err(sql)?;
                match updated {
                    Some((tenant,)) => self.announce(&[acknowledged(tenant, event_id)]).await,
                    // Already acknowledged, or unknown.
                    None => {
                        self.tenant_of(event_id).await?;
                    }
                }
                return Ok(());
            }
            let mut tx = self.inner.pool.begin().await.map_err(sql)?;
            let (tenant, correlation): (Uuid, Uuid) = sqlx::query_as(SENDER)
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(sql)?
                .ok_or(ErrorEffect::NotFound { event_id })?;
            // Tenant lock before the row lock: the order every signal uses.
            sqlx::query(LOCK_TENANT)
                .bind(tenant)
                .execute(&mut *tx)
                .await
                .map_err(sql)?;
            let updated: Option<(Uuid,)> = sqlx::query_as(ACK)
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(sql)?;
            let mut notifications = Vec::new();
            if updated.is_some() {
                notifications.push(acknowledged(tenant, event_id));
                notifications.extend(
                    self.store_signal(
                        &mut tx,
                        tenant,
                        correlation,
                        event_id,
                        UpstreamSignal::Ack { event_id },
                    )
                    .await?,
                );
            }
            tx.commit().await.map_err(sql)?;
            self.announce(&notifications).await;
            Ok(())
        })
        .await
    }

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

    /// Whether an event with these flags waits for acknowledgment.
    fn needs_ack(flags: EventFlags) -> bool {
        flags.contains(EventFlags::REQUIRES_ACK) && !flags.contains(EventFlags::ACKNOWLEDGED)
    }

    /// The SQL predicate `(flags & 17) = 1` of the queue is this function.
    #[test]
    fn queue_predicate_matches_the_flags() {
        assert_eq!(
            (EventFlags::REQUIRES_ACK | EventFlags::ACKNOWLEDGED).bits(),
            17
        );
        for bits in 0..=u8::MAX {
            let flags = EventFlags::from_bits_retain(bits);
            assert_eq!(needs_ack(flags), bits & 17 == 1, "flags {bits:#010b}");
        }
    }
}
