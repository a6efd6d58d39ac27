-- Risk assessment: each tenant's asset inventory, the assessments made of alerts (the
-- deterministic score and, when a model was asked, its validated verdict), every call to
-- a language model with its tokens, latency and cost, a cache of identical model
-- requests, and the risk time series behind the trends.
CREATE TABLE risk_assets (
    tenant     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    doc        TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, name)
);

CREATE TABLE risk_assessments (
    id       TEXT PRIMARY KEY,
    tenant   TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    at       TEXT NOT NULL,
    score    INTEGER NOT NULL,
    source   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    doc      TEXT NOT NULL
);
CREATE INDEX risk_assessments_alert ON risk_assessments(tenant, alert_id, at);

CREATE TABLE llm_calls (
    id                TEXT PRIMARY KEY,
    tenant            TEXT NOT NULL,
    at                TEXT NOT NULL,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    scenario          TEXT NOT NULL,
    alert_id          TEXT,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_ms        INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    outcome           TEXT NOT NULL,
    cached            INTEGER NOT NULL
);
CREATE INDEX llm_calls_tenant_time ON llm_calls(tenant, at);

CREATE TABLE llm_cache (
    tenant     TEXT NOT NULL,
    key        TEXT NOT NULL,
    response   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, key)
);

CREATE TABLE risk_points (
    tenant TEXT NOT NULL,
    at     TEXT NOT NULL,
    scope  TEXT NOT NULL,
    name   TEXT NOT NULL,
    score  REAL NOT NULL
);
CREATE INDEX risk_points_tenant_time ON risk_points(tenant, scope, name, at);
