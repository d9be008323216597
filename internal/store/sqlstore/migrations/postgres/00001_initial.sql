-- +goose Up
-- The PostgreSQL schema: the same tables and columns as SQLite's migrations
-- 1-8 (see migrations/sqlite for what each holds), with these differences:
--   * text columns compare bytewise (COLLATE "C"), as SQLite's do, so that
--     ID order, keyset paging and prefix ranges agree with the SQLite
--     backend whatever the database's default collation is;
--   * times are bigint Unix microseconds, blobs are bytea;
--   * the sign-in and audit logs are partitioned by month of created_at
--     (partitions are created by the server ahead of need: partitions.go),
--     with a BRIN index on time, and retention drops whole partitions;
--   * the sign-in log's addresses have an ordinary index: PostgreSQL has
--     no single writer for a random index to slow down, so SQLite's bulk
--     address index (signin_ip_index) is not needed.
CREATE TABLE tenants (
    id           text COLLATE "C" PRIMARY KEY,
    display_name text COLLATE "C" NOT NULL,
    created_at   bigint NOT NULL
);

CREATE TABLE tenant_domains (
    domain    text COLLATE "C" PRIMARY KEY,
    tenant_id text COLLATE "C" NOT NULL REFERENCES tenants(id),
    position  bigint NOT NULL
);

CREATE TABLE tenant_banned_terms (
    tenant_id text COLLATE "C" NOT NULL REFERENCES tenants(id),
    term      text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, term)
);

CREATE TABLE users (
    id                     text COLLATE "C" PRIMARY KEY,
    tenant_id              text COLLATE "C" NOT NULL REFERENCES tenants(id),
    upn                    text COLLATE "C" NOT NULL,
    login_key              text COLLATE "C" NOT NULL,
    display_name           text COLLATE "C" NOT NULL,
    mail                   text COLLATE "C" NOT NULL DEFAULT '',
    mail_key               text COLLATE "C",
    account_enabled        bigint NOT NULL,
    password_hash          text COLLATE "C" NOT NULL DEFAULT '',
    last_password_change   bigint NOT NULL,
    force_change_password  bigint NOT NULL DEFAULT 0,
    created_at             bigint NOT NULL,
    updated_at             bigint NOT NULL,
    sessions_valid_from    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_login_key ON users(tenant_id, login_key);
CREATE UNIQUE INDEX users_mail_key ON users(tenant_id, mail_key) WHERE mail_key IS NOT NULL;

CREATE TABLE login_names (
    tenant_id text COLLATE "C" NOT NULL,
    name      text COLLATE "C" NOT NULL,
    user_id   text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, name)
);
CREATE INDEX login_names_user ON login_names(user_id);

CREATE TABLE apps (
    client_id      text COLLATE "C" PRIMARY KEY,
    tenant_id      text COLLATE "C" NOT NULL REFERENCES tenants(id),
    display_name   text COLLATE "C" NOT NULL,
    public_client  bigint NOT NULL,
    redirect_uris  text COLLATE "C" NOT NULL,
    allowed_grants text COLLATE "C" NOT NULL,
    created_at     bigint NOT NULL
);

CREATE TABLE app_secrets (
    id         text COLLATE "C" PRIMARY KEY,
    client_id  text COLLATE "C" NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
    hash       text COLLATE "C" NOT NULL,
    hint       text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX app_secrets_client ON app_secrets(client_id);

CREATE TABLE signing_keys (
    id            text COLLATE "C" PRIMARY KEY,
    algorithm     text COLLATE "C" NOT NULL,
    private_key   bytea NOT NULL,
    created_at    bigint NOT NULL,
    retired_at    bigint NOT NULL DEFAULT 0,
    publish_until bigint NOT NULL DEFAULT 0
);

CREATE TABLE refresh_tokens (
    id         text COLLATE "C" PRIMARY KEY,
    hash       text COLLATE "C" NOT NULL UNIQUE,
    family_id  text COLLATE "C" NOT NULL,
    tenant_id  text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    client_id  text COLLATE "C" NOT NULL,
    scopes     text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    revoked_at bigint NOT NULL DEFAULT 0,
    used_at    bigint NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE secrets (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE budgets (
    tenant_id    text COLLATE "C" NOT NULL,
    subject      text COLLATE "C" NOT NULL,
    class        text COLLATE "C" NOT NULL,
    scope        text COLLATE "C" NOT NULL,
    version      bigint NOT NULL,
    failures     text COLLATE "C" NOT NULL DEFAULT '',
    locked_until bigint NOT NULL DEFAULT 0,
    locked_at    bigint NOT NULL DEFAULT 0,
    lockouts     bigint NOT NULL DEFAULT 0,
    lockout_id   text COLLATE "C" NOT NULL DEFAULT '',
    typos        text COLLATE "C" NOT NULL DEFAULT '',
    updated_at   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, subject, class, scope)
);

CREATE TABLE lockouts (
    id            text COLLATE "C" PRIMARY KEY,
    tenant_id     text COLLATE "C" NOT NULL,
    subject       text COLLATE "C" NOT NULL,
    class         text COLLATE "C" NOT NULL,
    scope         text COLLATE "C" NOT NULL,
    started_at    bigint NOT NULL,
    expires_at    bigint NOT NULL,
    failure_count bigint NOT NULL,
    reason        text COLLATE "C" NOT NULL,
    cleared_at    bigint NOT NULL DEFAULT 0,
    cleared_by    text COLLATE "C" NOT NULL DEFAULT '',
    cleared_how   text COLLATE "C" NOT NULL DEFAULT '',
    clear_reason  text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX lockouts_subject_time ON lockouts(tenant_id, subject, started_at DESC, id DESC);

CREATE TABLE tenant_lockout_policies (
    tenant_id               text COLLATE "C" PRIMARY KEY REFERENCES tenants(id),
    threshold               bigint NOT NULL,
    duration_ns             bigint NOT NULL,
    max_duration_ns         bigint NOT NULL,
    observation_window_ns   bigint NOT NULL,
    familiar_network_days   bigint NOT NULL,
    device_cookie_threshold bigint NOT NULL
);

CREATE TABLE user_networks (
    tenant_id       text COLLATE "C" NOT NULL,
    user_id         text COLLATE "C" NOT NULL,
    prefix          text COLLATE "C" NOT NULL,
    last_success_at bigint NOT NULL,
    PRIMARY KEY (tenant_id, user_id, prefix)
);

CREATE TABLE ip_blocks (
    id            text COLLATE "C" PRIMARY KEY,
    prefix        text COLLATE "C" NOT NULL,
    origin        text COLLATE "C" NOT NULL,
    rule          text COLLATE "C" NOT NULL DEFAULT '',
    reason        text COLLATE "C" NOT NULL DEFAULT '',
    evidence      text COLLATE "C" NOT NULL DEFAULT '',
    report_only   bigint NOT NULL DEFAULT 0,
    created_at    bigint NOT NULL,
    created_by    text COLLATE "C" NOT NULL DEFAULT '',
    expires_at    bigint NOT NULL DEFAULT 0,
    revoked_at    bigint NOT NULL DEFAULT 0,
    revoked_by    text COLLATE "C" NOT NULL DEFAULT '',
    revoke_reason text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX ip_blocks_newest ON ip_blocks(created_at DESC, id DESC);

CREATE TABLE ip_blocks_version (
    id      bigint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO ip_blocks_version(id, version) VALUES (1, 0);

CREATE TABLE named_locations (
    id              text COLLATE "C" PRIMARY KEY,
    tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants(id),
    display_name    text COLLATE "C" NOT NULL,
    cidrs           text COLLATE "C" NOT NULL DEFAULT '',
    countries       text COLLATE "C" NOT NULL DEFAULT '',
    include_unknown bigint NOT NULL DEFAULT 0,
    trusted         bigint NOT NULL DEFAULT 0,
    created_at      bigint NOT NULL,
    UNIQUE (tenant_id, display_name)
);

CREATE TABLE role_assignments (
    id                 text COLLATE "C" PRIMARY KEY,
    tenant_id          text COLLATE "C" NOT NULL,
    principal_id       text COLLATE "C" NOT NULL,
    role_definition_id text COLLATE "C" NOT NULL,
    directory_scope_id text COLLATE "C" NOT NULL,
    created_at         bigint NOT NULL,
    UNIQUE (tenant_id, principal_id, role_definition_id, directory_scope_id)
);

CREATE TABLE auth_codes (
    hash           text COLLATE "C" PRIMARY KEY,
    tenant_id      text COLLATE "C" NOT NULL,
    client_id      text COLLATE "C" NOT NULL,
    user_id        text COLLATE "C" NOT NULL,
    redirect_uri   text COLLATE "C" NOT NULL,
    scopes         text COLLATE "C" NOT NULL,
    nonce          text COLLATE "C" NOT NULL,
    code_challenge text COLLATE "C" NOT NULL,
    session_id     text COLLATE "C" NOT NULL,
    auth_time      bigint NOT NULL,
    created_at     bigint NOT NULL,
    expires_at     bigint NOT NULL,
    redeemed_at    bigint NOT NULL DEFAULT 0,
    family_id      text COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX auth_codes_expiry ON auth_codes(expires_at);

CREATE TABLE sso_sessions (
    id         text COLLATE "C" PRIMARY KEY,
    tenant_id  text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    persistent bigint NOT NULL,
    revoked_at bigint NOT NULL DEFAULT 0
);
CREATE INDEX sso_sessions_user ON sso_sessions(tenant_id, user_id);

CREATE TABLE device_cookies (
    id         text COLLATE "C" PRIMARY KEY,
    tenant_id  text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint NOT NULL DEFAULT 0
);
CREATE INDEX device_cookies_user ON device_cookies(tenant_id, user_id);

-- The logs. A partitioned table's primary key must contain the partition
-- key, hence (id, created_at); IDs are UUIDv7s drawn fresh per record.
CREATE TABLE signins (
    id             text COLLATE "C" NOT NULL,
    created_at     bigint NOT NULL,
    tenant_id      text COLLATE "C" NOT NULL,
    user_id        text COLLATE "C" NOT NULL,
    upn            text COLLATE "C" NOT NULL,
    app_id         text COLLATE "C" NOT NULL,
    ip_address     text COLLATE "C" NOT NULL,
    error_code     bigint NOT NULL,
    correlation_id text COLLATE "C" NOT NULL,
    body           bytea NOT NULL,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX signins_time_brin ON signins USING brin (created_at);
CREATE INDEX signins_tenant_time ON signins(tenant_id, created_at DESC, id DESC) INCLUDE (correlation_id);
CREATE INDEX signins_user_time ON signins(tenant_id, user_id, created_at DESC);
CREATE INDEX signins_upn_time ON signins(tenant_id, upn, created_at DESC);
CREATE INDEX signins_ip_time ON signins(tenant_id, ip_address, created_at DESC);

CREATE TABLE directory_audits (
    id             text COLLATE "C" NOT NULL,
    tenant_id      text COLLATE "C" NOT NULL,
    created_at     bigint NOT NULL,
    category       text COLLATE "C" NOT NULL,
    activity       text COLLATE "C" NOT NULL,
    result         text COLLATE "C" NOT NULL,
    initiated_by   text COLLATE "C" NOT NULL,
    target_id      text COLLATE "C" NOT NULL,
    correlation_id text COLLATE "C" NOT NULL,
    body           bytea NOT NULL,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX directory_audits_time_brin ON directory_audits USING brin (created_at);
CREATE INDEX directory_audits_time ON directory_audits(tenant_id, created_at DESC, id DESC);
CREATE INDEX directory_audits_initiator ON directory_audits(tenant_id, initiated_by, created_at DESC);
CREATE INDEX directory_audits_target ON directory_audits(tenant_id, target_id, created_at DESC);

-- +goose Down
DROP TABLE directory_audits;
DROP TABLE signins;
DROP TABLE device_cookies;
DROP TABLE sso_sessions;
DROP TABLE auth_codes;
DROP TABLE role_assignments;
DROP TABLE named_locations;
DROP TABLE ip_blocks_version;
DROP TABLE ip_blocks;
DROP TABLE user_networks;
DROP TABLE tenant_lockout_policies;
DROP TABLE lockouts;
DROP TABLE budgets;
DROP TABLE secrets;
DROP TABLE refresh_tokens;
DROP TABLE signing_keys;
DROP TABLE app_secrets;
DROP TABLE apps;
DROP TABLE login_names;
DROP TABLE users;
DROP TABLE tenant_banned_terms;
DROP TABLE tenant_domains;
DROP TABLE tenants;
