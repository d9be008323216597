-- +goose Up
-- IP block records; global (not per tenant) and never deleted. Times are Unix
-- microseconds; expires_at = 0 means "until revoked", revoked_at = 0 means
-- "not revoked".
CREATE TABLE ip_blocks (
    id            TEXT PRIMARY KEY,
    prefix        TEXT NOT NULL,
    origin        TEXT NOT NULL,
    rule          TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    evidence      TEXT NOT NULL DEFAULT '', -- JSON, '' when none
    report_only   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL DEFAULT '',
    expires_at    INTEGER NOT NULL DEFAULT 0,
    revoked_at    INTEGER NOT NULL DEFAULT 0,
    revoked_by    TEXT NOT NULL DEFAULT '',
    revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ip_blocks_newest ON ip_blocks(created_at DESC, id DESC);

-- One row: a counter bumped in the same transaction as every create and
-- every effective revoke, so other processes can poll it cheaply.
CREATE TABLE ip_blocks_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO ip_blocks_version(id, version) VALUES (1, 0);

-- Entra-style named locations, per tenant. cidrs and countries are
-- newline-joined lists, '' when empty. The unique constraint also serves
-- listing a tenant's locations by name.
CREATE TABLE named_locations (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    display_name    TEXT NOT NULL,
    cidrs           TEXT NOT NULL DEFAULT '',
    countries       TEXT NOT NULL DEFAULT '',
    include_unknown INTEGER NOT NULL DEFAULT 0,
    trusted         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, display_name)
);

-- +goose Down
DROP TABLE named_locations;
DROP TABLE ip_blocks_version;
DROP INDEX ip_blocks_newest;
DROP TABLE ip_blocks;
