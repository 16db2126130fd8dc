-- EventDag schema, version 1. Every table of tenant data carries tenant_id
-- as the first column of its primary key and of every index, so that the
-- schema can be distributed by tenant (Citus: create_distributed_table(...,
-- 'tenant_id') on each, co-located). The one exception is
-- eventdag_event_ids, the directory that routes an event id to its tenant
-- and makes ids unique across tenants (see docs/storage-postgres.md).
--
-- u32 fields are stored as bigint with range checks, u16 as integer and
-- u8 as smallint, so no value of the Rust model is ever truncated.

CREATE TABLE eventdag_event_ids (
    event_id  uuid NOT NULL,
    tenant_id uuid NOT NULL,
    CONSTRAINT eventdag_event_ids_pkey PRIMARY KEY (event_id)
);

CREATE TABLE eventdag_events (
    tenant_id      uuid     NOT NULL,
    event_id       uuid     NOT NULL,
    correlation_id uuid     NOT NULL,
    ts             bigint   NOT NULL CHECK (ts >= 0),
    depth          bigint   NOT NULL CHECK (depth BETWEEN 0 AND 4294967295),
    lane           bigint   NOT NULL CHECK (lane BETWEEN 0 AND 4294967295),
    sequence       bigint   NOT NULL CHECK (sequence BETWEEN 0 AND 4294967295),
    payload_size   bigint   NOT NULL CHECK (payload_size BETWEEN 0 AND 4294967295),
    kind           integer  NOT NULL CHECK (kind BETWEEN 0 AND 65535),
    flags          smallint NOT NULL CHECK (flags BETWEEN 0 AND 255),
    parents        uuid[]   NOT NULL,
    payload        jsonb    NOT NULL,
    hash           bytea    NOT NULL CHECK (octet_length(hash) = 32),
    log_cursor     bigint   NOT NULL CHECK (log_cursor > 0),
    CONSTRAINT eventdag_events_pkey PRIMARY KEY (tenant_id, event_id),
    CONSTRAINT eventdag_events_lane_sequence_key UNIQUE (tenant_id, lane, sequence),
    CONSTRAINT eventdag_events_cursor_key UNIQUE (tenant_id, log_cursor)
);

-- find_correlation_chain: one range scan in (depth, lane, sequence) order.
CREATE INDEX eventdag_events_chain_idx
    ON eventdag_events (tenant_id, correlation_id, depth, lane, sequence);
-- find_by_kind across tenants (ordered by depth, lane, sequence, tenant).
CREATE INDEX eventdag_events_kind_idx
    ON eventdag_events (kind, depth, lane, sequence, tenant_id);
-- find_by_kind_for_tenant.
CREATE INDEX eventdag_events_tenant_kind_idx
    ON eventdag_events (tenant_id, kind, depth, lane, sequence);
-- The acknowledgment queue: REQUIRES_ACK (1) set, ACKNOWLEDGED (16) clear.
-- Partial, so acknowledged events leave the index.
CREATE INDEX eventdag_events_unacked_idx
    ON eventdag_events (ts, event_id, tenant_id) WHERE (flags & 17) = 1;
CREATE INDEX eventdag_events_tenant_unacked_idx
    ON eventdag_events (tenant_id, ts, event_id) WHERE (flags & 17) = 1;

-- Parent -> child edges, for walking descendants (ancestors use the
-- ordered parents array of the child row).
CREATE TABLE eventdag_edges (
    tenant_id uuid NOT NULL,
    parent_id uuid NOT NULL,
    child_id  uuid NOT NULL,
    CONSTRAINT eventdag_edges_pkey PRIMARY KEY (tenant_id, parent_id, child_id)
);

-- The next free sequence of each (tenant, lane).
CREATE TABLE eventdag_lanes (
    tenant_id     uuid   NOT NULL,
    lane          bigint NOT NULL CHECK (lane BETWEEN 0 AND 4294967295),
    next_sequence bigint NOT NULL CHECK (next_sequence BETWEEN 0 AND 4294967296),
    CONSTRAINT eventdag_lanes_pkey PRIMARY KEY (tenant_id, lane)
);

-- One row per tenant: the last event cursor and signal sequence handed
-- out. Every write of a tenant locks this row until commit, which makes
-- cursor order equal commit order (docs/storage-postgres.md, "Cursor").
CREATE TABLE eventdag_tenant_logs (
    tenant_id            uuid   NOT NULL,
    last_event_cursor    bigint NOT NULL DEFAULT 0,
    last_signal_sequence bigint NOT NULL DEFAULT 0,
    CONSTRAINT eventdag_tenant_logs_pkey PRIMARY KEY (tenant_id)
);

-- State set on correlation chains by Cancel and Backpressure signals.
CREATE TABLE eventdag_chains (
    tenant_id          uuid   NOT NULL,
    correlation_id     uuid   NOT NULL,
    cancelled          text,
    backpressure_until bigint,
    CONSTRAINT eventdag_chains_pkey PRIMARY KEY (tenant_id, correlation_id)
);

-- The signal log of each tenant, sequences from 1.
CREATE TABLE eventdag_signals (
    tenant_id      uuid   NOT NULL,
    sequence       bigint NOT NULL CHECK (sequence > 0),
    from_id        uuid   NOT NULL,
    correlation_id uuid   NOT NULL,
    signal         jsonb  NOT NULL,
    ts             bigint NOT NULL,
    delivered_to   uuid[] NOT NULL,
    CONSTRAINT eventdag_signals_pkey PRIMARY KEY (tenant_id, sequence)
);

-- Which signals concern which event: the sender and every recipient.
CREATE TABLE eventdag_signal_deliveries (
    tenant_id uuid   NOT NULL,
    event_id  uuid   NOT NULL,
    sequence  bigint NOT NULL,
    CONSTRAINT eventdag_signal_deliveries_pkey PRIMARY KEY (tenant_id, event_id, sequence)
);

-- The tenant registry and hashed API keys (small: reference tables in Citus).
CREATE TABLE eventdag_tenants (
    tenant_id  uuid   NOT NULL,
    name       text   NOT NULL,
    created_at bigint NOT NULL,
    CONSTRAINT eventdag_tenants_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT eventdag_tenants_name_key UNIQUE (name)
);

CREATE TABLE eventdag_api_keys (
    prefix     text    NOT NULL,
    tenant_id  uuid    NOT NULL REFERENCES eventdag_tenants (tenant_id),
    key_hash   bytea   NOT NULL CHECK (octet_length(key_hash) = 32),
    created_at bigint  NOT NULL,
    revoked    boolean NOT NULL DEFAULT false,
    CONSTRAINT eventdag_api_keys_pkey PRIMARY KEY (prefix)
);
