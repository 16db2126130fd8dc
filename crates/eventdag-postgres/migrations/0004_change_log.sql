-- The durable change log (SPEC §5): what a cache on another node must
-- learn of, written in the same transaction as the change. NOTIFY stays
-- only as a wake-up; a lost notification loses nothing.
--
-- Position: the writing transaction's id (pg_current_xact_id(), 64 bits,
-- never wraps). Ids are assigned in start order, not commit order, so a
-- reader never reads past the oldest transaction still running
-- (pg_snapshot_xmin of its snapshot): below that horizon every
-- transaction has ended and no row can still appear. A reader that keeps
-- "read everything below H" as its position therefore never skips or
-- repeats a change, without serialising writers on a counter.
--
-- Appends and signals also have their own commit-ordered per-tenant logs
-- (log_cursor, signal sequence), which the live streams follow; this log
-- says which tenants appended (so remembered answers are outdated) and
-- which flags changed (ACKNOWLEDGED, COMPENSATED), which no other log
-- holds.
CREATE TABLE eventdag_changes (
    position   bigint   NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    tenant_id  uuid     NOT NULL,
    -- 1: the tenant appended (log_cursor: its last cursor of the write);
    -- 2: flags were added to event_id (flags: the bits added).
    change     smallint NOT NULL CHECK (change IN (1, 2)),
    event_id   uuid,
    flags      smallint,
    log_cursor bigint,
    -- This server's clock, µs, for pruning by age.
    at         bigint   NOT NULL DEFAULT ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
);
CREATE INDEX eventdag_changes_position_idx ON eventdag_changes (position);

-- Rows below `pruned_below` may have been deleted: a reader whose
-- position is lower has missed changes and must distrust what it cached.
CREATE TABLE eventdag_change_horizon (
    one          boolean PRIMARY KEY DEFAULT true CHECK (one),
    pruned_below bigint  NOT NULL DEFAULT 0
);
INSERT INTO eventdag_change_horizon DEFAULT VALUES;
