-- moat schema v8 for PostgreSQL (the SQLite store's v12): what the data
-- plane measures of websites. Request counters per website (account and
-- domain), time bucket (bucket_ms: the bucket's start) and data-plane
-- process (node); attack events per node, website, source, reason and start
-- (end_ms 0 while the event lasts).

CREATE TABLE web_traffic_samples (
    account_id      TEXT COLLATE "C" NOT NULL,
    domain          TEXT COLLATE "C" NOT NULL,
    bucket_ms       BIGINT NOT NULL,
    node            TEXT COLLATE "C" NOT NULL,
    requests        BIGINT NOT NULL,
    attack_requests BIGINT NOT NULL,
    in_bytes        BIGINT NOT NULL,
    out_bytes       BIGINT NOT NULL,
    status_2xx      BIGINT NOT NULL,
    status_3xx      BIGINT NOT NULL,
    status_4xx      BIGINT NOT NULL,
    status_5xx      BIGINT NOT NULL,
    status_200      BIGINT NOT NULL,
    status_403      BIGINT NOT NULL,
    status_404      BIGINT NOT NULL,
    status_405      BIGINT NOT NULL,
    status_410      BIGINT NOT NULL,
    status_499      BIGINT NOT NULL,
    status_501      BIGINT NOT NULL,
    status_502      BIGINT NOT NULL,
    status_503      BIGINT NOT NULL,
    status_504      BIGINT NOT NULL,
    PRIMARY KEY (account_id, domain, bucket_ms, node)
) WITH (fillfactor = 70);
-- An account's buckets in a time range, whatever the domain.
CREATE INDEX web_traffic_samples_account ON web_traffic_samples (account_id, bucket_ms);

CREATE TABLE web_attack_events (
    node       TEXT COLLATE "C" NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL,
    domain     TEXT COLLATE "C" NOT NULL,
    source     TEXT COLLATE "C" NOT NULL,
    reason     TEXT COLLATE "C" NOT NULL,
    start_ms   BIGINT NOT NULL,
    end_ms     BIGINT NOT NULL,
    peak       BIGINT NOT NULL,
    blocked    BIGINT NOT NULL,
    watched    BIGINT NOT NULL,
    PRIMARY KEY (node, account_id, domain, source, reason, start_ms)
);
CREATE INDEX web_attack_events_account ON web_attack_events (account_id, start_ms);
