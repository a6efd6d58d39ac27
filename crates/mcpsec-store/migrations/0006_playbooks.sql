-- Response playbooks with every version kept, their runs (with a copy of the playbook
-- as it was when the run started, so a resumed run follows the same graph), each
-- step's attempts with input, output, timing and actor, and approval requests with the
-- decisions on them.
CREATE TABLE playbooks (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    yaml       TEXT NOT NULL,
    enabled    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE playbook_versions (
    tenant  TEXT NOT NULL,
    id      TEXT NOT NULL,
    version INTEGER NOT NULL,
    yaml    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (tenant, id, version)
);

CREATE TABLE playbook_runs (
    id               TEXT PRIMARY KEY,
    tenant           TEXT NOT NULL,
    playbook_id      TEXT NOT NULL,
    playbook_version INTEGER NOT NULL,
    playbook_yaml    TEXT NOT NULL,
    alert_id         TEXT,
    trigger          TEXT NOT NULL,
    actor            TEXT NOT NULL,
    status           TEXT NOT NULL,
    context          TEXT NOT NULL,
    error            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX playbook_runs_tenant ON playbook_runs(tenant, created_at);
CREATE INDEX playbook_runs_status ON playbook_runs(status);
CREATE INDEX playbook_runs_alert ON playbook_runs(tenant, alert_id);

CREATE TABLE playbook_step_runs (
    run_id      TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    item        INTEGER NOT NULL,
    status      TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    input       TEXT,
    output      TEXT,
    error       TEXT,
    actor       TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    duration_ms INTEGER,
    PRIMARY KEY (run_id, step_id, item)
);

CREATE TABLE playbook_approvals (
    run_id      TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    playbook_id TEXT NOT NULL,
    alert_id    TEXT,
    role        TEXT,
    approvers   TEXT NOT NULL,
    min         INTEGER NOT NULL,
    deadline    TEXT NOT NULL,
    status      TEXT NOT NULL,
    escalated   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    decided_at  TEXT,
    PRIMARY KEY (run_id, step_id)
);
CREATE INDEX playbook_approvals_pending ON playbook_approvals(tenant, status);

CREATE TABLE playbook_decisions (
    run_id   TEXT NOT NULL,
    step_id  TEXT NOT NULL,
    actor    TEXT NOT NULL,
    role     TEXT NOT NULL,
    approve  INTEGER NOT NULL,
    comment  TEXT,
    at       TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, actor)
);
