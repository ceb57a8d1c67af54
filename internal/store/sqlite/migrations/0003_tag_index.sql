-- moat schema v3: tags carry their instance's owner, region and listing
-- position, so a tag filter is an index range in listing order (and its
-- count an index count) instead of a probe per instance of the account.

CREATE TABLE instance_tags_v3 (
    instance_id TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    region      TEXT NOT NULL,
    seq         INTEGER NOT NULL, -- the instance's seq
    PRIMARY KEY (instance_id, key)
) WITHOUT ROWID;

INSERT INTO instance_tags_v3 (instance_id, key, value, account_id, region, seq)
    SELECT t.instance_id, t.key, t.value, i.account_id, i.region, i.seq
    FROM instance_tags t JOIN instances i ON i.instance_id = t.instance_id;

DROP TABLE instance_tags;
ALTER TABLE instance_tags_v3 RENAME TO instance_tags;

CREATE INDEX instance_tags_value ON instance_tags(account_id, region, key, value, seq);
CREATE INDEX instance_tags_key ON instance_tags(account_id, region, key, seq);
