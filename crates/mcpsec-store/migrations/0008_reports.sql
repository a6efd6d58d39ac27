-- Reports generated in the background: the request, its progress and outcome, the
-- finished document itself, and signed share links that expire or are revoked.
CREATE TABLE report_jobs (
    id           TEXT PRIMARY KEY,
    tenant       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    format       TEXT NOT NULL,
    period_from  TEXT,
    period_to    TEXT,
    status       TEXT NOT NULL,
    error        TEXT,
    requested_by TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    finished_at  TEXT,
    size         INTEGER,
    sha256       TEXT
);
CREATE INDEX report_jobs_tenant ON report_jobs(tenant, created_at);
CREATE INDEX report_jobs_status ON report_jobs(status);

CREATE TABLE report_files (
    job_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    bytes  BLOB NOT NULL
);

CREATE TABLE report_shares (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX report_shares_job ON report_shares(tenant, job_id);
