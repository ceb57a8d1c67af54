-- moat schema v7: an index of the STS keys by expiry, so that the
-- lifecycle engine's purge of long-expired temporary credentials reads
-- only those (permanent keys have token_hash '' and are not in it).

CREATE INDEX access_keys_sts_expiry ON access_keys(expires_ms) WHERE token_hash != '';
