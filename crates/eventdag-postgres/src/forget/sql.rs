//! The statements of redaction, chain removal, tenant erasure and
//! retention policies (migration 0005).
//!
//! Lock order, the one every writer of this crate keeps (see
//! docs/storage-postgres.md, "Append"): event rows (in id order) first,
//! then the tenant's log row. Appends take only the log row; signals and
//! acknowledgments take event rows, then the log row.

use std::sync::LazyLock;

use crate::codec::EVENT_COLUMNS;

/// The event to redact, its row locked against concurrent flag changes
/// and redactions (`NO KEY UPDATE`: appends of children do not wait).
pub(super) static REDACT_TARGET: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLUMNS} FROM eventdag_event_ids i \
         JOIN eventdag_events e ON e.tenant_id = i.tenant_id AND e.event_id = i.event_id \
         WHERE i.event_id = $1 FOR NO KEY UPDATE OF e"
    )
});

/// Replaces the payload by JSON `null`, stores the mark and logs the
/// redaction (change 3) for other nodes' caches, in one statement. The
/// payload lives in this one column only: no index, no other table, no
/// change-log row or notification holds payload bytes.
pub(super) const REDACT: &str = "\
WITH r AS ( \
  UPDATE eventdag_events SET payload = 'null'::json, payload_encoding = 1, redaction = $3::json \
  WHERE tenant_id = $1 AND event_id = $2 \
), c AS ( \
  INSERT INTO eventdag_changes (tenant_id, change, event_id) VALUES ($1, 3, $2) \
) \
SELECT 1";

/// Locks the rows of a chain, in id order (the order signals lock theirs),
/// before the tenant's log row.
pub(super) const LOCK_CHAIN: &str = "\
SELECT event_id FROM eventdag_events WHERE tenant_id = $1 AND correlation_id = $2 \
ORDER BY event_id FOR UPDATE";

/// After the log row is held: locks the chain's rows again, skipping
/// those another transaction holds. Events appended between the two
/// locks are locked here (nobody holds an event's row once its append
/// committed); a row that is skipped is held by a signal or an
/// acknowledgment, which may itself wait for the log row: the attempt
/// starts again instead of waiting for it in a cycle.
pub(super) const RELOCK_CHAIN: &str = "\
SELECT event_id FROM eventdag_events WHERE tenant_id = $1 AND correlation_id = $2 \
ORDER BY event_id FOR UPDATE SKIP LOCKED";

/// Takes the tenant's log row the way appends do (`append::sql::LOCK_TENANTS`
/// for one tenant), so that no append of the tenant commits while it is
/// held and an append that waited sees what this transaction changed.
pub(super) const LOCK_TENANT: &str = "\
INSERT INTO eventdag_tenant_logs (tenant_id) VALUES ($1) \
ON CONFLICT (tenant_id) DO UPDATE SET last_event_cursor = eventdag_tenant_logs.last_event_cursor";

/// After the locks: every event of the chain with its timestamp and
/// flags, and for each the first child that belongs to another chain
/// (null when none), in one statement.
pub(super) const CHAIN_FACTS: &str = "\
SELECT c.event_id, c.ts, c.flags, o.child_id, o.parent_id \
FROM eventdag_events c \
LEFT JOIN LATERAL ( \
  SELECT d.child_id, d.parent_id FROM eventdag_edges d \
  JOIN eventdag_events k ON k.tenant_id = d.tenant_id AND k.event_id = d.child_id \
  WHERE d.tenant_id = $1 AND d.parent_id = c.event_id AND k.correlation_id <> $2 \
  ORDER BY d.child_id LIMIT 1 \
) o ON true \
WHERE c.tenant_id = $1 AND c.correlation_id = $2 \
ORDER BY c.depth, c.lane, c.sequence";

/// Removes a chain's events (`$3`) of tenant `$1` and everything that
/// names them: the id directory, edges, the signals they sent with every
/// delivery of those, deliveries to them, the chain's state (`$2`), and —
/// through the foreign key `ON DELETE CASCADE` of migration 0003 — their
/// queue rows. Logs one change 4 per removed event. Lane counters and the
/// tenant's cursors stay, so no position is handed out twice.
///
/// Every delete finds its rows through a key: signals sent by the chain's
/// events through their deliveries (the sender always has one), the
/// recipients' deliveries by (recipient, sequence) from the signal's
/// `delivered_to`, edges by (parent, child) from the events' `parents`
/// (no event outside the chain is a child of one inside: checked before).
pub(super) const REMOVE_CHAIN: &str = "\
WITH sent AS ( \
  SELECT g.sequence FROM eventdag_signal_deliveries d \
  JOIN eventdag_signals g ON g.tenant_id = d.tenant_id AND g.sequence = d.sequence \
  WHERE d.tenant_id = $1 AND d.event_id = ANY($3) AND g.from_id = d.event_id \
), s AS ( \
  DELETE FROM eventdag_signals g USING sent \
  WHERE g.tenant_id = $1 AND g.sequence = sent.sequence RETURNING g.sequence, g.delivered_to \
), d AS ( \
  DELETE FROM eventdag_signal_deliveries WHERE tenant_id = $1 AND event_id = ANY($3) \
), r AS ( \
  DELETE FROM eventdag_signal_deliveries x \
  USING (SELECT s.sequence, t FROM s, unnest(s.delivered_to) AS t) AS y \
  WHERE x.tenant_id = $1 AND x.event_id = y.t AND x.sequence = y.sequence \
    AND NOT (y.t = ANY($3)) \
), g AS ( \
  DELETE FROM eventdag_edges x \
  USING (SELECT p, e.event_id FROM eventdag_events e, unnest(e.parents) AS p \
         WHERE e.tenant_id = $1 AND e.event_id = ANY($3)) AS y \
  WHERE x.tenant_id = $1 AND x.parent_id = y.p AND x.child_id = y.event_id \
), i AS ( \
  DELETE FROM eventdag_event_ids WHERE event_id = ANY($3) AND tenant_id = $1 \
), e AS ( \
  DELETE FROM eventdag_events WHERE tenant_id = $1 AND event_id = ANY($3) RETURNING event_id \
), c AS ( \
  DELETE FROM eventdag_chains WHERE tenant_id = $1 AND correlation_id = $2 \
), l AS ( \
  INSERT INTO eventdag_changes (tenant_id, change, event_id) SELECT $1, 4, event_id FROM e \
) \
SELECT count(*) FROM e";

/// Locks every event row of a tenant, in id order; answers how many.
pub(super) const LOCK_TENANT_EVENTS: &str = "\
SELECT count(*) FROM ( \
  SELECT event_id FROM eventdag_events WHERE tenant_id = $1 ORDER BY event_id FOR UPDATE \
) AS locked";

/// After the log row is held: how many events the tenant has, and how
/// many of their rows this transaction holds once it has locked again
/// those nobody else holds (see [`RELOCK_CHAIN`]).
pub(super) const RELOCK_TENANT_EVENTS: &str = "\
SELECT (SELECT count(*) FROM eventdag_events WHERE tenant_id = $1), \
       (SELECT count(*) FROM ( \
          SELECT event_id FROM eventdag_events WHERE tenant_id = $1 \
          ORDER BY event_id FOR UPDATE SKIP LOCKED) AS locked)";

/// Deletes every row of tenant `$1` from every table, and logs one
/// tenant-less change 5 (the nil tenant id: the log must not keep the
/// erased one). Answers the events, API keys and registry rows removed.
/// The erasure scan in tests/conformance.rs lists the tables from
/// `information_schema` to prove none is missed. Every table is reached
/// by an index leading with `tenant_id`, except the id directory (keyed
/// by event id: reached through the deleted events), the change log
/// (keyed by position) and the API keys (keyed by prefix), which are
/// scanned: the log holds an hour, the keys are few.
pub(super) const ERASE_TENANT: &str = "\
WITH e AS ( \
  DELETE FROM eventdag_events WHERE tenant_id = $1 RETURNING event_id \
), i AS ( \
  DELETE FROM eventdag_event_ids WHERE event_id IN (SELECT event_id FROM e) \
), g AS ( \
  DELETE FROM eventdag_edges WHERE tenant_id = $1 \
), n AS ( \
  DELETE FROM eventdag_lanes WHERE tenant_id = $1 \
), o AS ( \
  DELETE FROM eventdag_tenant_logs WHERE tenant_id = $1 \
), c AS ( \
  DELETE FROM eventdag_chains WHERE tenant_id = $1 \
), s AS ( \
  DELETE FROM eventdag_signals WHERE tenant_id = $1 \
), d AS ( \
  DELETE FROM eventdag_signal_deliveries WHERE tenant_id = $1 \
), q AS ( \
  DELETE FROM eventdag_queue WHERE tenant_id = $1 \
), h AS ( \
  DELETE FROM eventdag_changes WHERE tenant_id = $1 \
), r AS ( \
  DELETE FROM eventdag_retention WHERE tenant_id = $1 \
), k AS ( \
  DELETE FROM eventdag_api_keys WHERE tenant_id = $1 RETURNING 1 \
), t AS ( \
  DELETE FROM eventdag_tenants WHERE tenant_id = $1 RETURNING 1 \
), w AS ( \
  INSERT INTO eventdag_changes (tenant_id, change) VALUES ('00000000-0000-0000-0000-000000000000', 5) \
) \
SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM k), (SELECT count(*) FROM t)";

/// Sets a tenant's retention policy.
pub(super) const SET_POLICY: &str = "\
INSERT INTO eventdag_retention (tenant_id, policy) VALUES ($1, $2::json) \
ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy";

/// Removes a tenant's retention policy.
pub(super) const DELETE_POLICY: &str = "DELETE FROM eventdag_retention WHERE tenant_id = $1";

/// Every policy, by tenant id.
pub(super) const POLICIES: &str =
    "SELECT tenant_id, policy::text FROM eventdag_retention ORDER BY tenant_id";
