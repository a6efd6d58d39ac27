-- The project a supply-chain report covers (NULL: every project of the tenant), kept
-- with queued jobs (so a restart re-runs the same report) and with schedules.
ALTER TABLE report_jobs ADD COLUMN project TEXT;
ALTER TABLE report_schedules ADD COLUMN project TEXT;
