-- The framework a scheduled compliance report covers (`soc2`, `iso27001`, `nist80053`,
-- `cis8`; NULL: all of them), as report jobs keep it since 0012.
ALTER TABLE report_schedules ADD COLUMN framework TEXT;
