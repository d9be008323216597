package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// CreateApp implements store.Apps.
func (db *DB) CreateApp(ctx context.Context, a store.App) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO apps(client_id, tenant_id, display_name, public_client,
			redirect_uris, allowed_grants, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.ClientID, a.TenantID, a.DisplayName, boolInt(a.Public), joinList(a.RedirectURIs),
			joinList(a.AllowedGrants), ts(a.CreatedAt))
		if err != nil {
			return mapErr(err, "create app "+a.ClientID)
		}
		return insertSecrets(ctx, tx, a)
	})
	return mapErr(err, "create app")
}

func insertSecrets(ctx context.Context, tx *sql.Tx, a store.App) error {
	for _, s := range a.Secrets {
		_, err := tx.ExecContext(ctx, `INSERT INTO app_secrets(id, client_id, hash, hint, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, s.ID, a.ClientID, s.Hash, s.Hint, ts(s.CreatedAt), ts(s.ExpiresAt))
		if err != nil {
			return mapErr(err, "app secret")
		}
	}
	return nil
}

// GetApp implements store.Apps.
func (db *DB) GetApp(ctx context.Context, clientID string) (store.App, error) {
	a, err := scanApp(db.read.QueryRowContext(ctx, `SELECT client_id, tenant_id, display_name, public_client,
		redirect_uris, allowed_grants, created_at FROM apps WHERE client_id = ?`, clientID))
	if err != nil {
		return a, mapErr(err, "get app")
	}
	a.Secrets, err = db.appSecrets(ctx, a.ClientID)
	return a, err
}

func scanApp(row interface{ Scan(...any) error }) (store.App, error) {
	var a store.App
	var public int
	var redirects, grants string
	var created int64
	err := row.Scan(&a.ClientID, &a.TenantID, &a.DisplayName, &public, &redirects, &grants, &created)
	a.Public, a.RedirectURIs, a.AllowedGrants, a.CreatedAt = public == 1, splitList(redirects), splitList(grants), fromTS(created)
	return a, err
}

func (db *DB) appSecrets(ctx context.Context, clientID string) ([]store.ClientSecret, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, hash, hint, created_at, expires_at FROM app_secrets
		WHERE client_id = ? ORDER BY created_at, id`, clientID)
	if err != nil {
		return nil, mapErr(err, "app secrets")
	}
	defer rows.Close()
	var out []store.ClientSecret
	for rows.Next() {
		var s store.ClientSecret
		var created, expires int64
		if err := rows.Scan(&s.ID, &s.Hash, &s.Hint, &created, &expires); err != nil {
			return nil, mapErr(err, "app secrets")
		}
		s.CreatedAt, s.ExpiresAt = fromTS(created), fromTS(expires)
		out = append(out, s)
	}
	return out, mapErr(rows.Err(), "app secrets")
}

// ListApps implements store.Apps.
func (db *DB) ListApps(ctx context.Context, tenantID string) ([]store.App, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT client_id, tenant_id, display_name, public_client,
		redirect_uris, allowed_grants, created_at FROM apps WHERE tenant_id = ? ORDER BY display_name, client_id`, tenantID)
	if err != nil {
		return nil, mapErr(err, "list apps")
	}
	var out []store.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			rows.Close()
			return nil, mapErr(err, "list apps")
		}
		out = append(out, a)
	}
	rows.Close()
	for i := range out {
		if out[i].Secrets, err = db.appSecrets(ctx, out[i].ClientID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UpdateApp implements store.Apps: replaces every mutable field and the secrets.
func (db *DB) UpdateApp(ctx context.Context, a store.App) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE apps SET display_name = ?, public_client = ?, redirect_uris = ?,
			allowed_grants = ? WHERE client_id = ?`, a.DisplayName, boolInt(a.Public), joinList(a.RedirectURIs),
			joinList(a.AllowedGrants), a.ClientID)
		if err != nil {
			return mapErr(err, "update app")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("update app %s: %w", a.ClientID, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_secrets WHERE client_id = ?`, a.ClientID); err != nil {
			return mapErr(err, "update app")
		}
		return insertSecrets(ctx, tx, a)
	})
	return mapErr(err, "update app")
}

// DeleteApp implements store.Apps.
func (db *DB) DeleteApp(ctx context.Context, tenantID, clientID string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM apps WHERE tenant_id = ? AND client_id = ?`, tenantID, clientID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("delete app %s: %w", clientID, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM role_assignments WHERE tenant_id = ? AND principal_id = ?`,
			tenantID, clientID); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM auth_codes WHERE tenant_id = ? AND client_id = ?`, tenantID, clientID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE tenant_id = ? AND client_id = ?`, tenantID, clientID)
		return err
	})
	return mapErr(err, "delete app")
}

// CreateKey implements store.Keys.
func (db *DB) CreateKey(ctx context.Context, k store.SigningKey) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error { return insertKey(ctx, tx, k) })
	return mapErr(err, "create key")
}

func insertKey(ctx context.Context, tx *sql.Tx, k store.SigningKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys(id, algorithm, private_key, created_at, retired_at,
		publish_until) VALUES (?, ?, ?, ?, ?, ?)`, k.ID, k.Algorithm, k.PrivateKey, ts(k.CreatedAt),
		ts(k.RetiredAt), ts(k.PublishUntil))
	return err
}

// ListKeys implements store.Keys.
func (db *DB) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, algorithm, private_key, created_at, retired_at, publish_until
		FROM signing_keys ORDER BY retired_at = 0 DESC, created_at DESC, id DESC`)
	if err != nil {
		return nil, mapErr(err, "list keys")
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var k store.SigningKey
		var created, retired, until int64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &created, &retired, &until); err != nil {
			return nil, mapErr(err, "list keys")
		}
		k.CreatedAt, k.RetiredAt, k.PublishUntil = fromTS(created), fromTS(retired), fromTS(until)
		out = append(out, k)
	}
	return out, mapErr(rows.Err(), "list keys")
}

// RotateKeys implements store.Keys.
func (db *DB) RotateKeys(ctx context.Context, next store.SigningKey, publishUntil time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ?, publish_until = ?
			WHERE retired_at = 0 AND algorithm = ?`, ts(next.CreatedAt), ts(publishUntil), next.Algorithm); err != nil {
			return err
		}
		return insertKey(ctx, tx, next)
	})
	return mapErr(err, "rotate keys")
}

// CreateRefreshToken implements store.RefreshTokens.
func (db *DB) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, insertRefreshTokenSQL,
			t.ID, t.Hash, t.FamilyID, t.TenantID, t.UserID, t.ClientID, t.Scopes, ts(t.CreatedAt), ts(t.ExpiresAt),
			ts(t.RevokedAt))
		return err
	})
	return mapErr(err, "create refresh token")
}

// RefreshTokenByHash implements store.RefreshTokens.
func (db *DB) RefreshTokenByHash(ctx context.Context, hash string) (store.RefreshToken, error) {
	var t store.RefreshToken
	var created, expires, revoked, used int64
	err := db.read.QueryRowContext(ctx, `SELECT id, hash, family_id, tenant_id, user_id, client_id, scopes,
		created_at, expires_at, revoked_at, used_at FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&t.ID, &t.Hash, &t.FamilyID, &t.TenantID, &t.UserID, &t.ClientID, &t.Scopes, &created, &expires, &revoked, &used)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.UsedAt = fromTS(created), fromTS(expires), fromTS(revoked), fromTS(used)
	return t, mapErr(err, "refresh token")
}

// RevokeRefreshFamily implements store.RefreshTokens.
func (db *DB) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at = 0`,
			ts(at), familyID)
		return err
	})
	return mapErr(err, "revoke refresh tokens")
}
