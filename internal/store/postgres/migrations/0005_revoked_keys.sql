-- moat schema v4 for PostgreSQL: the AccessKeys that were deleted, so that
-- a revocation survives restarts: the service refuses to install such a
-- key again (the bootstrap pair still set in the environment of the next
-- start).

CREATE TABLE revoked_access_keys (
    access_key_id TEXT COLLATE "C" PRIMARY KEY,
    account_id    TEXT COLLATE "C" NOT NULL,
    revoked_ms    BIGINT NOT NULL
);
