-- Work queues (SPEC §9): one row per event that a claim has touched.
-- Leases are judged by this server's clock (clock_timestamp(), µs since
-- the epoch), never by a node's. Rows go with their event (ON DELETE
-- CASCADE: retention and tenant erasure take queue state with them). An
-- acknowledgment through either path deletes the row in its transaction.
--
-- tenant_id leads the key, as everywhere (distribution by tenant).
CREATE TABLE eventdag_queue (
    tenant_id     uuid   NOT NULL,
    event_id      uuid   NOT NULL,
    -- Deliveries so far (u32).
    attempts      bigint NOT NULL CHECK (attempts BETWEEN 0 AND 4294967295),
    -- The latest lease; NULL once released.
    lease_token   uuid,
    consumer      text,
    lease_until   bigint,
    -- The consumer of the latest delivery, kept after a release.
    last_consumer text,
    -- Not claimable before (a release with a delay).
    available_at  bigint NOT NULL DEFAULT 0,
    -- Set when dead-lettered; cleared (the row deleted) by a requeue.
    dead_at       bigint,
    CONSTRAINT eventdag_queue_pkey PRIMARY KEY (tenant_id, event_id),
    CONSTRAINT eventdag_queue_event_fkey FOREIGN KEY (tenant_id, event_id)
        REFERENCES eventdag_events (tenant_id, event_id) ON DELETE CASCADE
);

-- Listing a tenant's dead letters by event id.
CREATE INDEX eventdag_queue_dead_idx
    ON eventdag_queue (tenant_id, event_id) WHERE dead_at IS NOT NULL;
