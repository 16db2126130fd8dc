-- Payloads exactly as they were appended (issue 13). `jsonb` re-renders
-- what it stores: numbers as PostgreSQL numerics, keys sorted by length,
-- duplicate keys dropped, so the bytes a hash covers could not be read
-- back. `json` keeps its input text byte for byte and still answers
-- operators' `payload->>'field'` queries.
--
-- `payload_encoding` says how a row's text relates to the bytes its hash
-- covers:
--   0  written before this migration: the text is jsonb's rendering, and
--      the hash covers serde_json's encoding of it decoded as a
--      `serde_json::Value` (which the reader reproduces);
--   1  the text is the hashed bytes themselves.
ALTER TABLE eventdag_events
    ADD COLUMN payload_encoding smallint NOT NULL DEFAULT 0
        CHECK (payload_encoding IN (0, 1));
ALTER TABLE eventdag_events ALTER COLUMN payload TYPE json USING payload::json;
ALTER TABLE eventdag_events ALTER COLUMN payload_encoding SET DEFAULT 1;
