-- Tamper-evident audit log: each entry holds the hash of the previous one.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    tenant     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log(tenant, seq);

-- Signed checkpoints: an ed25519 signature over (seq, hash) of an entry.
CREATE TABLE audit_checkpoints (
    seq        INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL,
    at         TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature  TEXT NOT NULL
);
