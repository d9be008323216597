-- +goose Up
CREATE TABLE tenant_banned_terms (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    term      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, term)
);

-- +goose Down
DROP TABLE tenant_banned_terms;
