-- +goose Up
CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE tenant_domains (
    domain    TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    position  INTEGER NOT NULL
);

CREATE TABLE users (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants(id),
    upn                    TEXT NOT NULL,
    login_key              TEXT NOT NULL,
    display_name           TEXT NOT NULL,
    mail                   TEXT NOT NULL DEFAULT '',
    mail_key               TEXT,
    account_enabled        INTEGER NOT NULL,
    password_hash          TEXT NOT NULL DEFAULT '',
    last_password_change   INTEGER NOT NULL,
    force_change_password  INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_login_key ON users(tenant_id, login_key);
CREATE UNIQUE INDEX users_mail_key ON users(tenant_id, mail_key) WHERE mail_key IS NOT NULL;

-- A login key (UPN) and a mail key must never name two different users:
-- logins resolve either, so the namespaces are shared.
CREATE TABLE login_names (
    tenant_id TEXT NOT NULL,
    name      TEXT NOT NULL,
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE apps (
    client_id      TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    display_name   TEXT NOT NULL,
    public_client  INTEGER NOT NULL,
    redirect_uris  TEXT NOT NULL,
    allowed_grants TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);

CREATE TABLE app_secrets (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    hint       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    id            TEXT PRIMARY KEY,
    algorithm     TEXT NOT NULL,
    private_key   BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    retired_at    INTEGER NOT NULL DEFAULT 0,
    publish_until INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    family_id  TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE signins (
    id             TEXT PRIMARY KEY,
    created_at     INTEGER NOT NULL,
    tenant_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    upn            TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    ip_address     TEXT NOT NULL,
    error_code     INTEGER NOT NULL,
    correlation_id TEXT NOT NULL,
    body           BLOB NOT NULL
);
CREATE INDEX signins_tenant_time ON signins(tenant_id, created_at DESC, id DESC);
CREATE INDEX signins_user_time ON signins(tenant_id, user_id, created_at DESC);
CREATE INDEX signins_upn_time ON signins(tenant_id, upn, created_at DESC);
CREATE INDEX signins_correlation ON signins(correlation_id);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE signins;
DROP TABLE refresh_tokens;
DROP TABLE signing_keys;
DROP TABLE app_secrets;
DROP TABLE apps;
DROP TABLE login_names;
DROP TABLE users;
DROP TABLE tenant_domains;
DROP TABLE tenants;
