-- moat schema v6: RAM users, their policies, and keys of three kinds: the
-- account's own (user_name ''), a RAM user's, and a RAM user's temporary
-- STS credentials (token_hash and expires_ms set). Secrets are sealed by
-- the service before they get here.

ALTER TABLE access_keys ADD COLUMN user_name      TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN token_hash     TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN expires_ms     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_keys ADD COLUMN session_policy TEXT NOT NULL DEFAULT '';

CREATE TABLE users (
    account_id TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    user_id    TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_name)
) WITHOUT ROWID;

CREATE TABLE user_policies (
    account_id  TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    document    TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_name, policy_name)
) WITHOUT ROWID;
