-- moat schema v1: accounts, keys, nonces, instances and their lifecycle.
-- Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    active        INTEGER NOT NULL,
    created_ms    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_keys_account ON access_keys(account_id);

-- Used SignatureNonces live in a database file of their own (see
-- sqlite.go), so that their constant commits stay off this one.

-- seq is the rowid: creation order, the stable listing order.
CREATE TABLE instances (
    seq               INTEGER PRIMARY KEY,
    instance_id       TEXT NOT NULL UNIQUE,
    account_id        TEXT NOT NULL,
    region            TEXT NOT NULL,
    ip                TEXT NOT NULL,
    remark            TEXT NOT NULL,
    edition           INTEGER NOT NULL,
    resource_group_id TEXT NOT NULL,
    create_ms         INTEGER NOT NULL,
    expire_ms         INTEGER NOT NULL,
    phase             INTEGER NOT NULL
);
-- An IP is unique among live instances of a region.
CREATE UNIQUE INDEX instances_ip ON instances(region, ip);
-- Listing (ordered by the implicit rowid = seq) and expiry-range filters.
CREATE INDEX instances_owner ON instances(account_id, region);
CREATE INDEX instances_owner_expire ON instances(account_id, region, expire_ms);
-- The lifecycle engine's due-time key.
CREATE INDEX instances_due ON instances(phase, expire_ms);

CREATE TABLE instance_tags (
    instance_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (instance_id, key)
) WITHOUT ROWID;
CREATE INDEX instance_tags_kv ON instance_tags(key, value);

-- Live instances per account and region, so an unfiltered
-- DescribeInstances answers TotalCount without counting rows; and a
-- version that every change to those instances (or their tags) bumps, so
-- a reader can tell whether a listing it cached is still current.
CREATE TABLE instance_counts (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, region)
) WITHOUT ROWID;

CREATE TABLE tombstones (
    instance_id TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    region      TEXT NOT NULL,
    released_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    time_ms     INTEGER NOT NULL,
    recorded_ms INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    region      TEXT NOT NULL,
    type        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX events_instance ON events(instance_id);
CREATE INDEX events_type ON events(type);

-- Released IPs, reused lowest first; and the never-used cursor per pool.
CREATE TABLE ip_free (
    region TEXT NOT NULL,
    ip     INTEGER NOT NULL,
    PRIMARY KEY (region, ip)
) WITHOUT ROWID;

CREATE TABLE ip_cursor (
    region TEXT NOT NULL,
    pool   TEXT NOT NULL,
    next   INTEGER NOT NULL,
    PRIMARY KEY (region, pool)
) WITHOUT ROWID;
