-- Forgetting on purpose (SPEC §10, issue 17).
--
-- hash_version: the rule an event's hash was computed by (SPEC §6).
-- Rows written before this migration were hashed under version 1 (the
-- hash covers the payload bytes); the default then becomes 2 (the hash
-- covers BLAKE3 of the payload bytes), which every append writes from
-- now on without naming the column.
ALTER TABLE eventdag_events
    ADD COLUMN hash_version smallint NOT NULL DEFAULT 1 CHECK (hash_version IN (1, 2));
ALTER TABLE eventdag_events ALTER COLUMN hash_version SET DEFAULT 2;

-- redaction: NULL, or the mark of a redacted event as JSON
-- {"reason": text, "redacted_at": µs, "payload_hash": hex}. A redacted
-- row's payload is the JSON text 'null' and is never served.
ALTER TABLE eventdag_events ADD COLUMN redaction json;

-- The change log learns three more kinds (docs/storage-postgres.md,
-- "Forgetting"), written in the same transaction as the change:
--   3: event_id was redacted (followers drop their cached copy);
--   4: event_id was removed with its chain by retention (one row per
--      removed event, so followers evict by id without a scan);
--   5: a tenant was erased. The row's tenant_id is the nil uuid, not the
--      erased tenant's, so that no row anywhere keeps the erased id;
--      followers then wipe their whole cache.
ALTER TABLE eventdag_changes DROP CONSTRAINT eventdag_changes_change_check;
ALTER TABLE eventdag_changes
    ADD CONSTRAINT eventdag_changes_change_check CHECK (change IN (1, 2, 3, 4, 5));

-- Each tenant's retention policy (eventdag::RetentionPolicy as JSON),
-- checked before it is stored.
CREATE TABLE eventdag_retention (
    tenant_id uuid NOT NULL,
    policy    json NOT NULL,
    CONSTRAINT eventdag_retention_pkey PRIMARY KEY (tenant_id)
);
