-- Reports made on a schedule (cron expression in a time zone) and delivered.
CREATE TABLE report_schedules (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    format      TEXT NOT NULL,
    cron        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    period_secs INTEGER NOT NULL,
    delivery    TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    next_run    TEXT NOT NULL,
    last_run    TEXT,
    last_job    TEXT,
    last_error  TEXT
);
CREATE INDEX report_schedules_due ON report_schedules(enabled, next_run);
CREATE INDEX report_schedules_tenant ON report_schedules(tenant, name);
