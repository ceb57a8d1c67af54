-- moat schema v10: the forwarding configuration of instances. Structured
-- values (origins, settings, health checks, proxy types, ports) are JSON
-- text, read and written whole. Times are milliseconds since the epoch;
-- an entry's expire_ms 0 is never.

-- Port rules, by instance, protocol and frontend port.
CREATE TABLE port_rules (
    instance_id   TEXT NOT NULL,
    protocol      TEXT NOT NULL,
    frontend_port INTEGER NOT NULL,
    backend_port  INTEGER NOT NULL,
    real_servers  TEXT NOT NULL,
    config        TEXT NOT NULL,
    health_check  TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    PRIMARY KEY (instance_id, protocol, frontend_port)
) WITHOUT ROWID;

-- Websites: a domain is unique in its account.
CREATE TABLE web_rules (
    account_id   TEXT NOT NULL,
    domain       TEXT NOT NULL,
    region       TEXT NOT NULL,
    cname        TEXT NOT NULL,
    real_servers TEXT NOT NULL,
    rs_type      INTEGER NOT NULL,
    proxy_types  TEXT NOT NULL,
    https_ext    TEXT NOT NULL,
    cert_id      INTEGER NOT NULL,
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    PRIMARY KEY (account_id, domain)
) WITHOUT ROWID;

-- The instances a website is bound to, in the order given (pos).
CREATE TABLE web_rule_instances (
    account_id  TEXT NOT NULL,
    domain      TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    pos         INTEGER NOT NULL,
    PRIMARY KEY (account_id, domain, instance_id)
) WITHOUT ROWID;
CREATE INDEX web_rule_instances_instance ON web_rule_instances(instance_id);

-- Uploaded certificates; key_pem is sealed by the service.
CREATE TABLE certs (
    cert_id       INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT NOT NULL,
    region        TEXT NOT NULL,
    name          TEXT NOT NULL,
    cert_pem      TEXT NOT NULL,
    key_pem       TEXT NOT NULL,
    common        TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    not_before_ms INTEGER NOT NULL,
    not_after_ms  INTEGER NOT NULL,
    created_ms    INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

-- An instance's blacklist and whitelist.
CREATE TABLE source_entries (
    instance_id TEXT NOT NULL,
    list        TEXT NOT NULL,
    ip          TEXT NOT NULL,
    type        TEXT NOT NULL,
    expire_ms   INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (instance_id, list, ip)
) WITHOUT ROWID;

-- An instance's blocked UDP source ports (a JSON array).
CREATE TABLE udp_reflect (
    instance_id TEXT PRIMARY KEY,
    ports       TEXT NOT NULL
) WITHOUT ROWID;

-- What a rule or list event is about.
ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT '';
