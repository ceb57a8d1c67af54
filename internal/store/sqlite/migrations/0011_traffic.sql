-- moat schema v11: what the data plane measures. Traffic counters per port
-- rule, time bucket (bucket_ms: the bucket's start, milliseconds since the
-- epoch) and data-plane process (node); mitigation events per rule, node,
-- source, limit and start (end_ms 0 while the event lasts).

CREATE TABLE traffic_samples (
    instance_id    TEXT NOT NULL,
    protocol       TEXT NOT NULL,
    frontend_port  INTEGER NOT NULL,
    bucket_ms      INTEGER NOT NULL,
    node           TEXT NOT NULL,
    in_bytes       INTEGER NOT NULL,
    out_bytes      INTEGER NOT NULL,
    in_packets     INTEGER NOT NULL,
    out_packets    INTEGER NOT NULL,
    new_conns      INTEGER NOT NULL,
    active_conns   INTEGER NOT NULL,
    inactive_conns INTEGER NOT NULL,
    max_conns      INTEGER NOT NULL,
    dropped        INTEGER NOT NULL,
    PRIMARY KEY (instance_id, protocol, frontend_port, bucket_ms, node)
) WITHOUT ROWID;
-- An instance's buckets in a time range, whatever the rule; and the
-- oldest buckets, for purging.
CREATE INDEX traffic_samples_instance ON traffic_samples(instance_id, bucket_ms);
CREATE INDEX traffic_samples_bucket ON traffic_samples(bucket_ms);

CREATE TABLE mitigation_events (
    instance_id   TEXT NOT NULL,
    protocol      TEXT NOT NULL,
    frontend_port INTEGER NOT NULL,
    node          TEXT NOT NULL,
    source        TEXT NOT NULL,
    limit_name    TEXT NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL,
    peak          INTEGER NOT NULL,
    dropped       INTEGER NOT NULL,
    PRIMARY KEY (instance_id, protocol, frontend_port, node, source, limit_name, start_ms)
) WITHOUT ROWID;
CREATE INDEX mitigation_events_instance ON mitigation_events(instance_id, start_ms);
-- Ended events by their end, for purging (open ones are kept).
CREATE INDEX mitigation_events_end ON mitigation_events(end_ms) WHERE end_ms != 0;
