//! The statements of the work queues (migration 0003).

/// The tenant's claimable events, oldest first, each row locked `FOR NO
/// KEY UPDATE ... SKIP LOCKED`: a claim in flight elsewhere holds its
/// rows, and this one passes them by instead of waiting. `$5` picks the
/// deliverable events (attempts below `$4`) or the spent ones (to be
/// dead-lettered). The lock is on the event row, which every queue write
/// and every acknowledgment takes first, so the queue rows read after it
/// (`ENTRIES`) cannot change under the claim.
pub(super) const CANDIDATES: &str = "\
WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8 AS now) \
SELECT e.event_id, e.ts, e.kind, e.correlation_id \
FROM eventdag_events e \
LEFT JOIN eventdag_queue q ON q.tenant_id = e.tenant_id AND q.event_id = e.event_id \
CROSS JOIN clock \
WHERE e.tenant_id = $1 AND (e.flags & 17) = 1 \
  AND ($2::int4 IS NULL OR e.kind = $2) AND ($3::uuid IS NULL OR e.correlation_id = $3) \
  AND (q.event_id IS NULL OR (q.dead_at IS NULL AND coalesce(q.lease_until, 0) <= clock.now \
       AND q.available_at <= clock.now)) \
  AND (coalesce(q.attempts, 0) < $4) = $5 \
ORDER BY e.ts, e.event_id \
LIMIT $6 \
FOR NO KEY UPDATE OF e SKIP LOCKED";

/// One event, its row locked (waiting, not skipping: an extension or
/// release must not miss its own lease), for the single-event writes.
pub(super) const TARGET: &str = "\
SELECT e.tenant_id, e.correlation_id, e.flags FROM eventdag_event_ids i \
JOIN eventdag_events e ON e.tenant_id = i.tenant_id AND e.event_id = i.event_id \
WHERE i.event_id = $1 FOR NO KEY UPDATE OF e";

/// The same, without the lock (for `queue_entry`).
pub(super) const TENANT_OF: &str = "SELECT tenant_id FROM eventdag_event_ids WHERE event_id = $1";

/// The queue rows of `$2` in tenant `$1`.
pub(super) const ENTRIES: &str = "\
SELECT event_id, attempts, lease_token, consumer, lease_until, last_consumer, available_at, dead_at \
FROM eventdag_queue WHERE tenant_id = $1 AND event_id = ANY($2)";

/// The queue rows of `$2` in tenant `$1` and this server's clock in µs
/// since the epoch (by which every lease is judged), in one round trip:
/// one row with null queue columns when there is no queue row.
/// `clock_timestamp()`, not `now()`: the time of the statement, after the
/// locks taken before it, not the start of the transaction.
pub(super) const ENTRIES_AT_CLOCK: &str = "\
SELECT c.now, q.event_id, q.attempts, q.lease_token, q.consumer, q.lease_until, q.last_consumer, \
  q.available_at, q.dead_at \
FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8 AS now) AS c \
LEFT JOIN eventdag_queue q ON q.tenant_id = $1 AND q.event_id = ANY($2)";

/// Stores the queue rows a flow decided, in one statement.
pub(super) const UPSERT: &str = "\
INSERT INTO eventdag_queue \
  (tenant_id, event_id, attempts, lease_token, consumer, lease_until, last_consumer, available_at, dead_at) \
SELECT $1, x.* FROM unnest($2::uuid[], $3::int8[], $4::uuid[], $5::text[], $6::int8[], $7::text[], \
  $8::int8[], $9::int8[]) AS x \
ON CONFLICT (tenant_id, event_id) DO UPDATE SET \
  attempts = excluded.attempts, lease_token = excluded.lease_token, consumer = excluded.consumer, \
  lease_until = excluded.lease_until, last_consumer = excluded.last_consumer, \
  available_at = excluded.available_at, dead_at = excluded.dead_at";

/// Removes queue rows (acknowledged or requeued events).
pub(super) const DELETE: &str =
    "DELETE FROM eventdag_queue WHERE tenant_id = $1 AND event_id = ANY($2)";

/// The tenant's dead letters after `$2` (none: from the first), by id.
pub(super) const DEAD: &str = "\
SELECT event_id, attempts, lease_token, consumer, lease_until, last_consumer, available_at, dead_at \
FROM eventdag_queue WHERE tenant_id = $1 AND dead_at IS NOT NULL \
  AND ($2::uuid IS NULL OR event_id > $2) \
ORDER BY event_id LIMIT $3";

/// Events of tenant `$1` by id.
pub(super) static EVENTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {} FROM eventdag_events e WHERE e.tenant_id = $1 AND e.event_id = ANY($2)",
        crate::codec::EVENT_COLUMNS
    )
});
