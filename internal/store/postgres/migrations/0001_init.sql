-- moat schema v1 for PostgreSQL: the SQLite store's schema v5 in one step.
--
-- Times are milliseconds since the Unix epoch (UTC), IPv4 addresses and
-- pool cursors unsigned 32-bit numbers, all in BIGINT. Identifiers and tag
-- keys compare in byte order (COLLATE "C"), as Go sorts strings, whatever
-- the database's default collation: listings ordered by them must agree
-- with the SQLite store.

CREATE TABLE settings (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    account_id        TEXT COLLATE "C" PRIMARY KEY,
    created_ms        BIGINT NOT NULL,
    resource_group_id TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE access_keys (
    access_key_id TEXT COLLATE "C" PRIMARY KEY,
    secret        TEXT NOT NULL,
    account_id    TEXT COLLATE "C" NOT NULL,
    active        BOOLEAN NOT NULL,
    created_ms    BIGINT NOT NULL
);
CREATE INDEX access_keys_account ON access_keys (account_id);

-- Used SignatureNonces. The primary key decides freshness across every
-- process sharing the database; expired ones are purged by expiry.
CREATE TABLE nonces (
    access_key_id TEXT COLLATE "C" NOT NULL,
    nonce         TEXT COLLATE "C" NOT NULL,
    expires_ms    BIGINT NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
);
CREATE INDEX nonces_expiry ON nonces (expires_ms);

-- seq is the creation order, the stable listing order.
CREATE TABLE instances (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id       TEXT COLLATE "C" NOT NULL UNIQUE,
    account_id        TEXT COLLATE "C" NOT NULL,
    region            TEXT COLLATE "C" NOT NULL,
    ip                TEXT COLLATE "C" NOT NULL,
    remark            TEXT NOT NULL,
    edition           INTEGER NOT NULL,
    resource_group_id TEXT COLLATE "C" NOT NULL,
    create_ms         BIGINT NOT NULL,
    expire_ms         BIGINT NOT NULL,
    phase             SMALLINT NOT NULL,
    product_type      TEXT COLLATE "C" NOT NULL,
    spec              TEXT NOT NULL, -- the JSON of moat.Spec, read and written whole
    renewal_status    TEXT COLLATE "C" NOT NULL,
    renew_period      INTEGER NOT NULL
);
-- An IP is unique among live instances of a region.
CREATE UNIQUE INDEX instances_ip ON instances (region, ip);
-- Listing in creation order, and expiry-range filters.
CREATE INDEX instances_owner ON instances (account_id, region, seq);
CREATE INDEX instances_owner_expire ON instances (account_id, region, expire_ms);
-- The lifecycle engine's due-time key.
CREATE INDEX instances_due ON instances (phase, expire_ms);

-- Tags carry their instance's owner, region and seq, so a tag filter is an
-- index range in listing order (and its count an index count).
CREATE TABLE instance_tags (
    instance_id TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (instance_id, key)
);
CREATE INDEX instance_tags_value ON instance_tags (account_id, region, key, value, seq);
CREATE INDEX instance_tags_key ON instance_tags (account_id, region, key, seq);

-- Live instances per account and region (the unfiltered TotalCount), and a
-- version that every change to those instances or their tags bumps in the
-- same transaction (the listing cache's validity). Each account and region
-- has up to 16 rows (shards); a transaction updates one, chosen at random,
-- so concurrent writes to one listing do not all queue for a single row
-- lock held until commit. The count is the sum of n (one shard may go
-- negative), the version the sum of versions: every committed change
-- raises it, so two reads with equal sums saw the same listing.
CREATE TABLE instance_counts (
    account_id TEXT COLLATE "C" NOT NULL,
    region     TEXT COLLATE "C" NOT NULL,
    shard      SMALLINT NOT NULL,
    n          BIGINT NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, shard)
);

-- Released instances; seq is the instance's, for its events.
CREATE TABLE tombstones (
    instance_id TEXT COLLATE "C" PRIMARY KEY,
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    released_ms BIGINT NOT NULL,
    seq         BIGINT NOT NULL DEFAULT 0
);

-- Events are found by their instance's seq (its creation order), so the
-- index entries of instances created together sit together.
CREATE TABLE events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_ms      BIGINT NOT NULL,
    recorded_ms  BIGINT NOT NULL,
    instance_id  TEXT COLLATE "C" NOT NULL,
    account_id   TEXT COLLATE "C" NOT NULL,
    region       TEXT COLLATE "C" NOT NULL,
    type         TEXT COLLATE "C" NOT NULL,
    request_id   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    instance_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX events_instance ON events (instance_seq, instance_id, seq);
CREATE INDEX events_type ON events (type, seq);

-- The outcome of billing calls made with a ClientToken (idempotency).
CREATE TABLE client_tokens (
    account_id  TEXT COLLATE "C" NOT NULL,
    action      TEXT COLLATE "C" NOT NULL,
    token       TEXT COLLATE "C" NOT NULL,
    params_hash TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (account_id, action, token)
);

-- Released IPs, reused lowest first; and the never-used cursor per pool.
CREATE TABLE ip_free (
    region TEXT COLLATE "C" NOT NULL,
    ip     BIGINT NOT NULL,
    PRIMARY KEY (region, ip)
);

CREATE TABLE ip_cursor (
    region TEXT COLLATE "C" NOT NULL,
    pool   TEXT COLLATE "C" NOT NULL,
    next   BIGINT NOT NULL,
    PRIMARY KEY (region, pool)
);
