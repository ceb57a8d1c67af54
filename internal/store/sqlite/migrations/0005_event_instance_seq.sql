-- moat schema v5: events are found by their instance's seq (its creation
-- order) rather than its random ID, so the index entries of instances
-- created together (and so falling due together) sit together: a
-- lifecycle batch of 500 expiries appends to a few index pages instead of
-- dirtying 500 random ones. Tombstones keep the seq, for events of
-- released instances.

ALTER TABLE events ADD COLUMN instance_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tombstones ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

UPDATE events SET instance_seq = COALESCE(
    (SELECT i.seq FROM instances i WHERE i.instance_id = events.instance_id), 0);

DROP INDEX events_instance;
CREATE INDEX events_instance ON events(instance_seq, instance_id);
