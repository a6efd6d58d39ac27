-- Alerts written by the detection consumer, their status history, deployed rules with
-- every version kept, per-tenant switches for rules loaded from files, and the
-- consumer's offset in the event log together with its correlation windows.
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    tenant       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    rule_id      TEXT NOT NULL,
    rule_title   TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    level        TEXT NOT NULL,
    level_rank   INTEGER NOT NULL,
    tags         TEXT NOT NULL,
    techniques   TEXT NOT NULL,
    tactics      TEXT NOT NULL,
    host         TEXT,
    event_ids    TEXT NOT NULL,
    events       TEXT NOT NULL,
    event_count  INTEGER NOT NULL,
    grp          TEXT,
    event_time   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    status       TEXT NOT NULL,
    status_by    TEXT,
    status_at    TEXT
);
CREATE INDEX alerts_tenant_time ON alerts(tenant, event_time);
CREATE INDEX alerts_tenant_status ON alerts(tenant, status, event_time);
CREATE INDEX alerts_tenant_rule ON alerts(tenant, rule_id, event_time);

CREATE TABLE alert_history (
    alert_id    TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    comment     TEXT
);
CREATE INDEX alert_history_alert ON alert_history(tenant, alert_id, at);

CREATE TABLE rules (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    title      TEXT NOT NULL,
    level      TEXT,
    status     TEXT,
    enabled    INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    yaml       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE rule_versions (
    tenant  TEXT NOT NULL,
    id      TEXT NOT NULL,
    version INTEGER NOT NULL,
    change  TEXT NOT NULL,
    yaml    TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (tenant, id, version)
);

CREATE TABLE rule_switches (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    enabled    INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE detection_offsets (
    consumer   TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    state      BLOB,
    updated_at TEXT NOT NULL
);
