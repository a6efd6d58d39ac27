-- Supply-chain projects of a tenant, the SBOMs / lockfiles uploaded to them (every version
-- kept: the document as it came, and the inventory parsed from it), the VEX documents
-- that apply to a project, and per version the set of findings last evaluated, so that a
-- change of the vulnerability database alerts exactly on what is new.
CREATE TABLE projects (
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    latest      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX projects_name ON projects(tenant, name);

CREATE TABLE project_sboms (
    tenant        TEXT NOT NULL,
    project       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT,
    format        TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    document      BLOB NOT NULL,
    inventory     TEXT NOT NULL,
    components    INTEGER NOT NULL,
    warnings      TEXT NOT NULL,
    uploaded_at   TEXT NOT NULL,
    uploaded_by   TEXT NOT NULL,
    finding_keys  TEXT NOT NULL,
    evaluated_at  TEXT NOT NULL,
    vulndb_gen    INTEGER,
    PRIMARY KEY (tenant, project, version)
);

CREATE TABLE project_vex (
    tenant      TEXT NOT NULL,
    project     TEXT NOT NULL,
    id          TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    statements  INTEGER NOT NULL,
    document    BLOB NOT NULL,
    uploaded_at TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    PRIMARY KEY (tenant, project, id)
);
