//! The statements of an append. Round trips per call, for one event or
//! ten thousand: BEGIN, [`READ_NAMED`], [`LOCK_TENANTS`],
//! [`READ_LANES_AND_CHAINS`], [`INSERT`], COMMIT — then NOTIFY, sent
//! by a task of its own off the committer's path.

/// Takes the tenants' log rows (in id order, so that batches and nodes
/// never deadlock) and answers each tenant's last event cursor.
pub(super) const LOCK_TENANTS: &str = "\
INSERT INTO eventdag_tenant_logs (tenant_id) \
SELECT t FROM unnest($1::uuid[]) AS x(t) ORDER BY t \
ON CONFLICT (tenant_id) DO UPDATE SET last_event_cursor = eventdag_tenant_logs.last_event_cursor \
RETURNING tenant_id, last_event_cursor";

/// The events a batch names (its own ids and its parents); payloads only
/// for its own ids, which a re-append compares.
pub(super) const READ_NAMED: &str = "\
SELECT e.tenant_id, e.event_id, e.correlation_id, e.ts, e.depth, e.lane, e.sequence, \
       e.payload_size, e.kind, e.flags, e.parents, \
       CASE WHEN e.event_id = ANY($2) THEN e.payload::text ELSE '' END AS payload, \
       e.payload_encoding, e.hash, e.log_cursor, e.hash_version, \
       CASE WHEN e.event_id = ANY($2) THEN e.redaction::text END AS redaction \
FROM eventdag_event_ids i \
JOIN eventdag_events e ON e.tenant_id = i.tenant_id AND e.event_id = i.event_id \
WHERE i.event_id = ANY($1)";

/// The lanes' next free sequences and the chains' states the flow asks
/// for, and which of the events read before the tenant lock (`$5`) are
/// gone since — removed with their chain or their tenant, which hold
/// this lock while they delete — in one statement. `src`: 0 lane, 1
/// chain, 2 gone.
pub(super) const READ_LANES_AND_CHAINS: &str = "\
SELECT 0::int2 AS src, l.tenant_id, NULL::uuid AS correlation_id, l.lane, l.next_sequence, \
       NULL::text AS cancelled, NULL::bigint AS until \
FROM eventdag_lanes l JOIN unnest($1::uuid[], $2::int8[]) AS x(t, n) \
  ON l.tenant_id = x.t AND l.lane = x.n \
UNION ALL \
SELECT 1::int2, c.tenant_id, c.correlation_id, NULL, NULL, c.cancelled, c.backpressure_until \
FROM eventdag_chains c JOIN unnest($3::uuid[], $4::uuid[]) AS y(t, c) \
  ON c.tenant_id = y.t AND c.correlation_id = y.c \
UNION ALL \
SELECT 2::int2, z.id, NULL, NULL, NULL, NULL, NULL FROM unnest($5::uuid[]) AS z(id) \
WHERE NOT EXISTS (SELECT 1 FROM eventdag_event_ids i WHERE i.event_id = z.id)";

/// Every row of the batch — events, id directory, edges, lane counters,
/// log cursors, one change-log row per tenant (migration 0004) — in one
/// statement, from array parameters.
pub(super) const INSERT: &str = "\
WITH ev AS ( \
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::int8[], $6::int8[], \
                       $7::int8[], $8::int8[], $9::int4[], $10::int2[], $11::text[], $12::text[], \
                       $13::bytea[], $14::int8[]) \
    AS t(tenant_id, event_id, correlation_id, ts, depth, lane, sequence, payload_size, kind, \
         flags, parents, payload, hash, log_cursor) \
), ids AS ( \
  INSERT INTO eventdag_event_ids (event_id, tenant_id) SELECT event_id, tenant_id FROM ev \
), events AS ( \
  INSERT INTO eventdag_events (tenant_id, event_id, correlation_id, ts, depth, lane, sequence, \
                               payload_size, kind, flags, parents, payload, payload_encoding, \
                               hash, log_cursor) \
  SELECT tenant_id, event_id, correlation_id, ts, depth, lane, sequence, payload_size, kind, \
         flags, parents::uuid[], payload::json, 1, hash, log_cursor FROM ev \
), edges AS ( \
  INSERT INTO eventdag_edges (tenant_id, parent_id, child_id) \
  SELECT ev.tenant_id, p.parent_id, ev.event_id FROM ev, unnest(ev.parents::uuid[]) AS p(parent_id) \
), lanes AS ( \
  INSERT INTO eventdag_lanes (tenant_id, lane, next_sequence) \
  SELECT * FROM unnest($15::uuid[], $16::int8[], $17::int8[]) \
  ON CONFLICT (tenant_id, lane) DO UPDATE SET next_sequence = excluded.next_sequence \
), logs AS ( \
  UPDATE eventdag_tenant_logs g SET last_event_cursor = x.last \
  FROM unnest($18::uuid[], $19::int8[]) AS x(t, last) WHERE g.tenant_id = x.t \
), changes AS ( \
  INSERT INTO eventdag_changes (tenant_id, change, log_cursor) \
  SELECT t, 1, last FROM unnest($18::uuid[], $19::int8[]) AS x(t, last) \
) \
SELECT 1";
