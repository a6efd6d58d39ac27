-- API key scopes: a comma-separated list of actions (or `area.*`) the key is limited to,
-- on top of its role; empty means everything the role allows.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
