-- moat schema v12: what the data plane measures of websites. Request
-- counters per website (account and domain), time bucket (bucket_ms: the
-- bucket's start) and data-plane process (node); attack events per node,
-- website, source, reason and start (end_ms 0 while the event lasts).

CREATE TABLE web_traffic_samples (
    account_id      TEXT NOT NULL,
    domain          TEXT NOT NULL,
    bucket_ms       INTEGER NOT NULL,
    node            TEXT NOT NULL,
    requests        INTEGER NOT NULL,
    attack_requests INTEGER NOT NULL,
    in_bytes        INTEGER NOT NULL,
    out_bytes       INTEGER NOT NULL,
    status_2xx      INTEGER NOT NULL,
    status_3xx      INTEGER NOT NULL,
    status_4xx      INTEGER NOT NULL,
    status_5xx      INTEGER NOT NULL,
    status_200      INTEGER NOT NULL,
    status_403      INTEGER NOT NULL,
    status_404      INTEGER NOT NULL,
    status_405      INTEGER NOT NULL,
    status_410      INTEGER NOT NULL,
    status_499      INTEGER NOT NULL,
    status_501      INTEGER NOT NULL,
    status_502      INTEGER NOT NULL,
    status_503      INTEGER NOT NULL,
    status_504      INTEGER NOT NULL,
    PRIMARY KEY (account_id, domain, bucket_ms, node)
) WITHOUT ROWID;
-- An account's buckets in a time range, whatever the domain.
CREATE INDEX web_traffic_samples_account ON web_traffic_samples(account_id, bucket_ms);

CREATE TABLE web_attack_events (
    node       TEXT NOT NULL,
    account_id TEXT NOT NULL,
    domain     TEXT NOT NULL,
    source     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL,
    peak       INTEGER NOT NULL,
    blocked    INTEGER NOT NULL,
    watched    INTEGER NOT NULL,
    PRIMARY KEY (node, account_id, domain, source, reason, start_ms)
) WITHOUT ROWID;
CREATE INDEX web_attack_events_account ON web_attack_events(account_id, start_ms);
