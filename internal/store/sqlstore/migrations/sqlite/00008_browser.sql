-- +goose Up
-- Browser sign-in: authorization codes, SSO sessions, device cookies, and
-- refresh token rotation. Codes, sessions and refresh tokens are stored by
-- the SHA-256 of their value: the value itself exists only at the client.
CREATE TABLE auth_codes (
    hash           TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    auth_time      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    redeemed_at    INTEGER NOT NULL DEFAULT 0,
    family_id      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_codes_expiry ON auth_codes(expires_at);

CREATE TABLE sso_sessions (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    persistent INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sso_sessions_user ON sso_sessions(tenant_id, user_id);

CREATE TABLE device_cookies (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX device_cookies_user ON device_cookies(tenant_id, user_id);

ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE refresh_tokens DROP COLUMN used_at;
DROP TABLE device_cookies;
DROP TABLE sso_sessions;
DROP TABLE auth_codes;
