-- moat schema v2: what billing and tags need.

-- Every account has a default resource group its instances join.
ALTER TABLE accounts ADD COLUMN resource_group_id TEXT NOT NULL DEFAULT '';

-- The purchased product and specification of an instance, and how it
-- renews. spec is the JSON of moat.Spec (read and written whole, never
-- filtered on).
ALTER TABLE instances ADD COLUMN product_type   TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN spec           TEXT NOT NULL DEFAULT '{}';
ALTER TABLE instances ADD COLUMN renewal_status TEXT NOT NULL DEFAULT 'ManualRenewal';
ALTER TABLE instances ADD COLUMN renew_period   INTEGER NOT NULL DEFAULT 1;

-- The outcome of billing calls made with a ClientToken (idempotency).
CREATE TABLE client_tokens (
    account_id  TEXT NOT NULL,
    action      TEXT NOT NULL,
    token       TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (account_id, action, token)
) WITHOUT ROWID;
