-- moat schema v6 for PostgreSQL (the SQLite store's v10): the forwarding
-- configuration of instances. Structured values (origins, settings, health
-- checks, proxy types, ports) are JSON text, read and written whole. Times are milliseconds since the epoch;
-- an entry's expire_ms 0 is never.

-- Port rules, by instance, protocol and frontend port.
CREATE TABLE port_rules (
    instance_id   TEXT COLLATE "C" NOT NULL,
    protocol      TEXT COLLATE "C" NOT NULL,
    frontend_port BIGINT NOT NULL,
    backend_port  BIGINT NOT NULL,
    real_servers  TEXT NOT NULL,
    config        TEXT NOT NULL,
    health_check  TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    updated_ms    BIGINT NOT NULL,
    PRIMARY KEY (instance_id, protocol, frontend_port)
);

-- Websites: a domain is unique in its account.
CREATE TABLE web_rules (
    account_id   TEXT COLLATE "C" NOT NULL,
    domain       TEXT COLLATE "C" NOT NULL,
    region       TEXT COLLATE "C" NOT NULL,
    cname        TEXT COLLATE "C" NOT NULL,
    real_servers TEXT NOT NULL,
    rs_type      BIGINT NOT NULL,
    proxy_types  TEXT NOT NULL,
    https_ext    TEXT NOT NULL,
    cert_id      BIGINT NOT NULL,
    created_ms   BIGINT NOT NULL,
    updated_ms   BIGINT NOT NULL,
    PRIMARY KEY (account_id, domain)
);

-- The instances a website is bound to, in the order given (pos).
CREATE TABLE web_rule_instances (
    account_id  TEXT COLLATE "C" NOT NULL,
    domain      TEXT COLLATE "C" NOT NULL,
    instance_id TEXT COLLATE "C" NOT NULL,
    pos         BIGINT NOT NULL,
    PRIMARY KEY (account_id, domain, instance_id)
);
CREATE INDEX web_rule_instances_instance ON web_rule_instances (instance_id);

-- Uploaded certificates; key_pem is sealed by the service.
CREATE TABLE certs (
    cert_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    TEXT COLLATE "C" NOT NULL,
    region        TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    cert_pem      TEXT NOT NULL,
    key_pem       TEXT NOT NULL,
    common        TEXT COLLATE "C" NOT NULL,
    issuer        TEXT COLLATE "C" NOT NULL,
    not_before_ms BIGINT NOT NULL,
    not_after_ms  BIGINT NOT NULL,
    created_ms    BIGINT NOT NULL,
    UNIQUE (account_id, name)
);

-- An instance's blacklist and whitelist.
CREATE TABLE source_entries (
    instance_id TEXT COLLATE "C" NOT NULL,
    list        TEXT COLLATE "C" NOT NULL,
    ip          TEXT COLLATE "C" NOT NULL,
    type        TEXT COLLATE "C" NOT NULL,
    expire_ms   BIGINT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (instance_id, list, ip)
);

-- An instance's blocked UDP source ports (a JSON array).
CREATE TABLE udp_reflect (
    instance_id TEXT COLLATE "C" PRIMARY KEY,
    ports       TEXT NOT NULL
);

-- What a rule or list event is about.
ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT '';
