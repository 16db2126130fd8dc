//! The statements of a signal or acknowledgment.

/// The events the flow may ask about (the sender or acknowledged event,
/// and a compensated one), each row locked against concurrent flag
/// changes. `NO KEY UPDATE` does not block appends of children.
pub(super) const TARGETS: &str = "\
SELECT e.event_id, e.tenant_id, e.correlation_id, e.flags FROM eventdag_event_ids i \
JOIN eventdag_events e ON e.tenant_id = i.tenant_id AND e.event_id = i.event_id \
WHERE i.event_id = ANY($1) ORDER BY e.event_id FOR NO KEY UPDATE OF e";

/// Takes the tenant's log row (the lock appends take, so that a `Cancel`
/// and an append into its chain are ordered) and the next signal
/// sequence; rolled back with the transaction if no signal is stored.
pub(super) const NEXT_SIGNAL: &str = "\
INSERT INTO eventdag_tenant_logs (tenant_id, last_signal_sequence) VALUES ($1, 1) \
ON CONFLICT (tenant_id) DO UPDATE \
  SET last_signal_sequence = eventdag_tenant_logs.last_signal_sequence + 1 \
RETURNING last_signal_sequence";

/// After the lock: the sender's ancestors (as `queries::ANCESTORS` walks
/// them, ids only, `from` first) and the state of the chain the signal
/// changes, in one statement.
pub(super) const CONTEXT: &str = "\
WITH RECURSIVE walk(event_id) AS ( \
  SELECT $1::uuid \
  UNION \
  SELECT p.parent_id FROM walk w \
  CROSS JOIN LATERAL (SELECT e.parents FROM eventdag_events e \
    WHERE e.tenant_id = $2 AND e.event_id = w.event_id OFFSET 0) AS e \
  CROSS JOIN LATERAL unnest(e.parents) AS p(parent_id) \
), ordered AS ( \
  SELECT e.event_id FROM walk w CROSS JOIN LATERAL ( \
    SELECT e.event_id, e.depth, e.lane, e.sequence FROM eventdag_events e \
    WHERE e.tenant_id = $2 AND e.event_id = w.event_id OFFSET 0 \
  ) AS e \
  ORDER BY e.depth DESC, e.lane DESC, e.sequence DESC LIMIT $3 \
) \
SELECT ARRAY(SELECT event_id FROM ordered) AS ancestors, c.cancelled, c.backpressure_until \
FROM (SELECT 1) AS one \
LEFT JOIN eventdag_chains c ON c.tenant_id = $2 AND c.correlation_id = $4";

/// Every write the flow decided, in one statement: the signal record and
/// its deliveries (when `$2` is not null), the chain state (when `$8` is
/// not null), the flags added and their change-log rows (migration 0004),
/// and the queue rows an acknowledgment ends (`$13`).
pub(super) const STORE: &str = "\
WITH s AS ( \
  INSERT INTO eventdag_signals (tenant_id, sequence, from_id, correlation_id, signal, ts, delivered_to) \
  SELECT $1, $2, $3, $4, $5::jsonb, $6, $7 WHERE $2::int8 IS NOT NULL \
), d AS ( \
  INSERT INTO eventdag_signal_deliveries (tenant_id, event_id, sequence) \
  SELECT $1, x, $2 FROM unnest(array_prepend($3::uuid, $7::uuid[])) AS x WHERE $2::int8 IS NOT NULL \
), c AS ( \
  INSERT INTO eventdag_chains (tenant_id, correlation_id, cancelled, backpressure_until) \
  SELECT $1, $8, $9, $10 WHERE $8::uuid IS NOT NULL \
  ON CONFLICT (tenant_id, correlation_id) DO UPDATE SET \
    cancelled = excluded.cancelled, backpressure_until = excluded.backpressure_until \
), f AS ( \
  UPDATE eventdag_events e SET flags = e.flags | x.bits \
  FROM unnest($11::uuid[], $12::int2[]) AS x(id, bits) \
  WHERE e.tenant_id = $1 AND e.event_id = x.id \
), g AS ( \
  INSERT INTO eventdag_changes (tenant_id, change, event_id, flags) \
  SELECT $1, 2, x.id, x.bits FROM unnest($11::uuid[], $12::int2[]) AS x(id, bits) \
), q AS ( \
  DELETE FROM eventdag_queue WHERE tenant_id = $1 AND event_id = ANY($13::uuid[]) \
) \
SELECT 1";
