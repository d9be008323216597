-- +goose Up
-- Graph's signInSessionsValidFromDateTime (Unix microseconds, 0 = never
-- revoked): tokens issued before it stop working.
ALTER TABLE users ADD COLUMN sessions_valid_from INTEGER NOT NULL DEFAULT 0;

-- Directory role assignments (Graph's unifiedRoleAssignment). principal_id
-- is a user's object ID or an app's client ID.
CREATE TABLE role_assignments (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    principal_id       TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    directory_scope_id TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    UNIQUE (tenant_id, principal_id, role_definition_id, directory_scope_id)
);

-- The append-only audit log (Graph's directoryAudit); nothing updates or
-- deletes rows except retention.
CREATE TABLE directory_audits (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    category       TEXT NOT NULL,
    activity       TEXT NOT NULL,
    result         TEXT NOT NULL,
    initiated_by   TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    body           BLOB NOT NULL
);
CREATE INDEX directory_audits_time ON directory_audits(tenant_id, created_at DESC, id DESC);
CREATE INDEX directory_audits_initiator ON directory_audits(tenant_id, initiated_by, created_at DESC);
CREATE INDEX directory_audits_target ON directory_audits(tenant_id, target_id, created_at DESC);

-- +goose Down
DROP TABLE directory_audits;
DROP TABLE role_assignments;
ALTER TABLE users DROP COLUMN sessions_valid_from;
