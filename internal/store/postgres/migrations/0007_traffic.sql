-- moat schema v7 for PostgreSQL (the SQLite store's v11): what the data
-- plane measures. Traffic counters per port rule, time bucket (bucket_ms:
-- the bucket's start, milliseconds since the epoch) and data-plane process
-- (node); mitigation events per rule, node, source, limit and start (end_ms
-- 0 while the event lasts).

CREATE TABLE traffic_samples (
    instance_id    TEXT COLLATE "C" NOT NULL,
    protocol       TEXT COLLATE "C" NOT NULL,
    frontend_port  BIGINT NOT NULL,
    bucket_ms      BIGINT NOT NULL,
    node           TEXT COLLATE "C" NOT NULL,
    in_bytes       BIGINT NOT NULL,
    out_bytes      BIGINT NOT NULL,
    in_packets     BIGINT NOT NULL,
    out_packets    BIGINT NOT NULL,
    new_conns      BIGINT NOT NULL,
    active_conns   BIGINT NOT NULL,
    inactive_conns BIGINT NOT NULL,
    max_conns      BIGINT NOT NULL,
    dropped        BIGINT NOT NULL,
    PRIMARY KEY (instance_id, protocol, frontend_port, bucket_ms, node)
) WITH (fillfactor = 70);
-- A row is rewritten every second while its bucket is current: the room
-- left in each page lets those updates stay on the page, leaving the
-- indexes alone (HOT updates).
-- An instance's buckets in a time range, whatever the rule; and the
-- oldest buckets, for purging.
CREATE INDEX traffic_samples_instance ON traffic_samples (instance_id, bucket_ms);
CREATE INDEX traffic_samples_bucket ON traffic_samples (bucket_ms);

CREATE TABLE mitigation_events (
    instance_id   TEXT COLLATE "C" NOT NULL,
    protocol      TEXT COLLATE "C" NOT NULL,
    frontend_port BIGINT NOT NULL,
    node          TEXT COLLATE "C" NOT NULL,
    source        TEXT COLLATE "C" NOT NULL,
    limit_name    TEXT COLLATE "C" NOT NULL,
    start_ms      BIGINT NOT NULL,
    end_ms        BIGINT NOT NULL,
    peak          BIGINT NOT NULL,
    dropped       BIGINT NOT NULL,
    PRIMARY KEY (instance_id, protocol, frontend_port, node, source, limit_name, start_ms)
);
CREATE INDEX mitigation_events_instance ON mitigation_events (instance_id, start_ms);
-- Ended events by their end, for purging (open ones are kept).
CREATE INDEX mitigation_events_end ON mitigation_events (end_ms) WHERE end_ms <> 0;
