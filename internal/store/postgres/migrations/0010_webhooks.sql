-- moat schema v8 for PostgreSQL (the SQLite store's v12): notifications.
-- Lifecycle phases gain the three "expiring" notices before "expired"
-- (active 0, notified 7/3/1 days before expiry 1-3, expired 4, stopped 5),
-- so the stored expired (1) and stopped (2) move up by three. Webhooks per
-- account (the secret sealed like AccessKey secrets; events a
-- comma-separated list) and the outbox of their deliveries: one row per
-- notice and webhook, written in the transaction of what it notifies.
-- Times are real-clock milliseconds.

UPDATE instances SET phase = phase + 3 WHERE phase > 0;

CREATE TABLE webhooks (
    webhook_id  TEXT COLLATE "C" PRIMARY KEY,
    account_id  TEXT COLLATE "C" NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_ms  BIGINT NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_id, created_ms);

CREATE TABLE webhook_deliveries (
    delivery_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id  TEXT COLLATE "C" NOT NULL,
    event_id    TEXT COLLATE "C" NOT NULL,
    type        TEXT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    created_ms  BIGINT NOT NULL,
    next_ms     BIGINT NOT NULL,
    last_ms     BIGINT NOT NULL,
    last_code   INTEGER NOT NULL,
    last_error  TEXT NOT NULL,
    UNIQUE (webhook_id, event_id)
);
-- What is due: pending rows only, by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_ms) WHERE status = 'pending';
-- A webhook's log, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, delivery_id);
