-- moat schema v12: the protection of websites (layer 7): the CC switch and
-- mode, custom frequency rules, IP sets and precise access rules of one
-- website, as one JSON document read and written whole. A website without
-- a row has the default protection. The row goes with its website.
CREATE TABLE web_protections (
    account_id TEXT NOT NULL,
    domain     TEXT NOT NULL,
    protection TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, domain)
) WITHOUT ROWID;
