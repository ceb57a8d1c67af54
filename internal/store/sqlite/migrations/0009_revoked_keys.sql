-- moat schema v8: the AccessKeys that were deleted, so that a revocation
-- survives restarts: the service refuses to install such a key again (the
-- bootstrap pair still set in the environment of the next start).

CREATE TABLE revoked_access_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    revoked_ms    INTEGER NOT NULL
) WITHOUT ROWID;
