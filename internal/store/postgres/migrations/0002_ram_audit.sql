-- moat schema v2 for PostgreSQL: RAM users, their policies, keys of three
-- kinds (the account's own with user_name '', a RAM user's, and a RAM
-- user's temporary STS credentials with token_hash and expires_ms set),
-- and the audit log of authenticated calls. Secrets are sealed by the
-- service before they get here.

ALTER TABLE access_keys ADD COLUMN user_name      TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN token_hash     TEXT NOT NULL DEFAULT '';
ALTER TABLE access_keys ADD COLUMN expires_ms     BIGINT NOT NULL DEFAULT 0;
ALTER TABLE access_keys ADD COLUMN session_policy TEXT NOT NULL DEFAULT '';

CREATE TABLE users (
    account_id TEXT COLLATE "C" NOT NULL,
    user_name  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_name)
);

CREATE TABLE user_policies (
    account_id  TEXT COLLATE "C" NOT NULL,
    user_name   TEXT COLLATE "C" NOT NULL,
    policy_name TEXT COLLATE "C" NOT NULL,
    document    TEXT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_name, policy_name)
);

CREATE TABLE audit (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_ms    BIGINT NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL,
    principal  TEXT NOT NULL,
    source_ip  TEXT NOT NULL,
    action     TEXT COLLATE "C" NOT NULL,
    resources  TEXT[] NOT NULL, -- instance IDs
    code       TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX audit_account ON audit (account_id, seq);
CREATE INDEX audit_time ON audit (time_ms);
