-- moat schema v4 for PostgreSQL: how many renewal terms an auto_renewed
-- event covers (the lifecycle engine renews an instance whose expiry the
-- clock passed by several terms in one step, with one event), and how many
-- instances an audited call named (a record keeps only the first few IDs).

ALTER TABLE events ADD COLUMN periods integer NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN resource_count integer NOT NULL DEFAULT 0;
