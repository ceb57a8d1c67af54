-- moat schema v8: how many renewal terms an auto_renewed event covers. The
-- lifecycle engine renews an instance whose expiry the clock passed by
-- several terms in one step (one event, not one per term), so that a large
-- clock jump writes one event per instance. Older events are one term each.

ALTER TABLE events ADD COLUMN periods INTEGER NOT NULL DEFAULT 0;
