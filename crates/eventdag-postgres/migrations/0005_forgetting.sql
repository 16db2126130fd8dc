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
