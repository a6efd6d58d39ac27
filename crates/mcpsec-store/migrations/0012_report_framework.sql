-- The framework a compliance report covers (`soc2`, `iso27001`, `nist80053`, `cis8`;
-- NULL: all of them), kept with queued jobs so a restart re-runs the same report.
ALTER TABLE report_jobs ADD COLUMN framework TEXT;
