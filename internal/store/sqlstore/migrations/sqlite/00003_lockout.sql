-- +goose Up
-- One row per lockout budget. The four key columns form the primary key, whose
-- leading (tenant_id, subject) columns also serve ListBudgets, so no separate
-- index is needed. WITHOUT ROWID: rows are only ever reached by that key.
-- No foreign keys: the subject may be an HMAC of an unknown name, and the
-- sign-in hot path must not fail on directory housekeeping.
CREATE TABLE budgets (
    tenant_id    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    class        TEXT NOT NULL,
    scope        TEXT NOT NULL,
    version      INTEGER NOT NULL,
    failures     TEXT NOT NULL DEFAULT '', -- comma-separated Unix microseconds
    locked_until INTEGER NOT NULL DEFAULT 0,
    locked_at    INTEGER NOT NULL DEFAULT 0,
    lockouts     INTEGER NOT NULL DEFAULT 0,
    lockout_id   TEXT NOT NULL DEFAULT '',
    typos        TEXT NOT NULL DEFAULT '', -- JSON [{"mac": hex, "at": micros}], '' when none
    updated_at   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, subject, class, scope)
) WITHOUT ROWID;

-- Lockout audit records; nothing is deleted. cleared_at = 0 while not cleared.
CREATE TABLE lockouts (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    class         TEXT NOT NULL,
    scope         TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    failure_count INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    cleared_at    INTEGER NOT NULL DEFAULT 0,
    cleared_by    TEXT NOT NULL DEFAULT '',
    cleared_how   TEXT NOT NULL DEFAULT '',
    clear_reason  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX lockouts_subject_time ON lockouts(tenant_id, subject, started_at DESC, id DESC);

-- Per-tenant overrides of the configured smart lockout defaults. Durations
-- are nanoseconds, so a time.Duration round-trips exactly.
CREATE TABLE tenant_lockout_policies (
    tenant_id               TEXT PRIMARY KEY REFERENCES tenants(id),
    threshold               INTEGER NOT NULL,
    duration_ns             INTEGER NOT NULL,
    max_duration_ns         INTEGER NOT NULL,
    observation_window_ns   INTEGER NOT NULL,
    familiar_network_days   INTEGER NOT NULL,
    device_cookie_threshold INTEGER NOT NULL
);

-- Networks (address prefixes) users last signed in from successfully.
CREATE TABLE user_networks (
    tenant_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    prefix          TEXT NOT NULL,
    last_success_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, prefix)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE user_networks;
DROP TABLE tenant_lockout_policies;
DROP INDEX lockouts_subject_time;
DROP TABLE lockouts;
DROP TABLE budgets;
