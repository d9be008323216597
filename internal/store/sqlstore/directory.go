package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// CreateTenant implements store.Tenants.
func (db *DB) CreateTenant(ctx context.Context, t store.Tenant) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tenants(id, display_name, created_at) VALUES (?, ?, ?)`,
			t.ID, t.DisplayName, ts(t.CreatedAt)); err != nil {
			return err
		}
		for i, d := range t.Domains {
			if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_domains(domain, tenant_id, position) VALUES (?, ?, ?)`,
				d, t.ID, i); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(err, "create tenant")
}

// GetTenant implements store.Tenants.
func (db *DB) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, display_name, created_at FROM tenants WHERE id = ?`, id).
		Scan(&t.ID, &t.DisplayName, &created)
	if err != nil {
		return t, mapErr(err, "get tenant")
	}
	t.CreatedAt = fromTS(created)
	if t.Domains, err = db.tenantStrings(ctx, `SELECT domain FROM tenant_domains WHERE tenant_id = ? ORDER BY position`, t.ID); err != nil {
		return t, err
	}
	t.BannedPasswordTerms, err = db.tenantStrings(ctx, `SELECT term FROM tenant_banned_terms WHERE tenant_id = ? ORDER BY term`, t.ID)
	return t, err
}

// UpdateBannedPasswordTerms implements store.Tenants. The read happens in
// the write transaction, which SQLite runs one at a time.
func (db *DB) UpdateBannedPasswordTerms(ctx context.Context, tenantID string,
	update func(current []string) ([]string, error)) (before, after []string, err error) {
	var updateErr error
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = ?`, tenantID).Scan(&exists); err != nil {
			return err
		}
		if before, err = txStrings(ctx, tx, `SELECT term FROM tenant_banned_terms WHERE tenant_id = ? ORDER BY term`, tenantID); err != nil {
			return err
		}
		next, err := update(slices.Clone(before))
		if err != nil {
			updateErr = err
			return err
		}
		after = slices.Compact(slices.Sorted(slices.Values(next)))
		if _, err := tx.ExecContext(ctx, `DELETE FROM tenant_banned_terms WHERE tenant_id = ?`, tenantID); err != nil {
			return err
		}
		for _, term := range after {
			if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_banned_terms(tenant_id, term) VALUES (?, ?)`,
				tenantID, term); err != nil {
				return err
			}
		}
		return nil
	})
	if updateErr != nil {
		return nil, nil, updateErr
	}
	if err != nil {
		return nil, nil, mapErr(err, "update banned password terms")
	}
	return before, after, nil
}

func txStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (db *DB) tenantStrings(ctx context.Context, query, id string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, query, id)
	if err != nil {
		return nil, mapErr(err, "tenant domains")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, mapErr(err, "tenant domains")
		}
		out = append(out, d)
	}
	return out, mapErr(rows.Err(), "tenant domains")
}

// TenantByDomain implements store.Tenants.
func (db *DB) TenantByDomain(ctx context.Context, domain string) (store.Tenant, error) {
	var id string
	err := db.read.QueryRowContext(ctx, `SELECT tenant_id FROM tenant_domains WHERE domain = ?`, domain).Scan(&id)
	if err != nil {
		return store.Tenant{}, mapErr(err, "tenant by domain")
	}
	return db.GetTenant(ctx, id)
}

// ListTenants implements store.Tenants.
func (db *DB) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, mapErr(err, "list tenants")
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, mapErr(err, "list tenants")
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := make([]store.Tenant, 0, len(ids))
	for _, id := range ids {
		t, err := db.GetTenant(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

const userColumns = `id, tenant_id, upn, login_key, display_name, mail, COALESCE(mail_key, ''), account_enabled,
	password_hash, last_password_change, force_change_password, created_at, updated_at, sessions_valid_from`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var enabled, force int
	var changed, created, updated, validFrom int64
	err := row.Scan(&u.ID, &u.TenantID, &u.UserPrincipalName, &u.LoginKey, &u.DisplayName, &u.Mail, &u.MailKey,
		&enabled, &u.PasswordHash, &changed, &force, &created, &updated, &validFrom)
	u.SignInSessionsValidFrom = fromTS(validFrom)
	u.AccountEnabled, u.ForceChangePasswordNextSignIn = enabled == 1, force == 1
	u.LastPasswordChangeDateTime, u.CreatedAt, u.UpdatedAt = fromTS(changed), fromTS(created), fromTS(updated)
	return u, err
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateUsers implements store.Users: one transaction for the whole batch.
func (db *DB) CreateUsers(ctx context.Context, users ...store.User) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, u := range users {
			_, err := tx.ExecContext(ctx, `INSERT INTO users(id, tenant_id, upn, login_key, display_name, mail, mail_key,
				account_enabled, password_hash, last_password_change, force_change_password, created_at, updated_at,
				sessions_valid_from) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
				u.ID, u.TenantID, u.UserPrincipalName, u.LoginKey, u.DisplayName, u.Mail, nullable(u.MailKey),
				boolInt(u.AccountEnabled), u.PasswordHash, ts(u.LastPasswordChangeDateTime),
				boolInt(u.ForceChangePasswordNextSignIn), ts(u.CreatedAt), ts(u.UpdatedAt), ts(u.SignInSessionsValidFrom))
			if err != nil {
				return mapErr(err, "create user "+u.UserPrincipalName)
			}
			if err := insertLoginNames(ctx, tx, u); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(err, "create users")
}

func insertLoginNames(ctx context.Context, tx *sql.Tx, u store.User) error {
	names := []string{u.LoginKey}
	if u.MailKey != "" && u.MailKey != u.LoginKey {
		names = append(names, u.MailKey)
	}
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_names(tenant_id, name, user_id) VALUES (?, ?, ?)`,
			u.TenantID, n, u.ID); err != nil {
			return mapErr(err, fmt.Sprintf("sign-in name %q of %s", n, u.UserPrincipalName))
		}
	}
	return nil
}

// GetUser implements store.Users.
func (db *DB) GetUser(ctx context.Context, tenantID, id string) (store.User, error) {
	u, err := scanUser(db.queryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return u, mapErr(err, "get user")
}

// UserByLogin implements store.Users.
func (db *DB) UserByLogin(ctx context.Context, tenantID, key string) (store.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id =
		(SELECT user_id FROM login_names WHERE tenant_id = ? AND name = ?)`, tenantID, key))
	return u, mapErr(err, "user by login")
}

// ListUsers implements store.Users.
func (db *DB) ListUsers(ctx context.Context, tenantID, afterKey string, limit int) ([]store.User, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE tenant_id = ? AND login_key > ? ORDER BY login_key LIMIT ?`, tenantID, afterKey, limit)
	if err != nil {
		return nil, mapErr(err, "list users")
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, mapErr(err, "list users")
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err(), "list users")
}

// UpdateUser implements store.Users: replaces every mutable field.
func (db *DB) UpdateUser(ctx context.Context, u store.User) error {
	return db.updateUser(ctx, u, nil)
}

// UpdateUserIfUnchanged implements store.Users: the update applies only if
// the stored UpdatedAt still equals prev (ETag / If-Match).
func (db *DB) UpdateUserIfUnchanged(ctx context.Context, u store.User, prev time.Time) error {
	return db.updateUser(ctx, u, &prev)
}

func (db *DB) updateUser(ctx context.Context, u store.User, prev *time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if prev != nil {
			var stored int64
			err := tx.QueryRowContext(ctx, `SELECT updated_at FROM users WHERE tenant_id = ? AND id = ?`, u.TenantID, u.ID).Scan(&stored)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("update user %s: %w", u.ID, store.ErrNotFound)
			} else if err != nil {
				return err
			}
			if stored != ts(*prev) {
				return fmt.Errorf("update user %s: changed since it was read: %w", u.ID, store.ErrConflict)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET upn = ?, login_key = ?, display_name = ?, mail = ?,
			mail_key = ?, account_enabled = ?, password_hash = ?, last_password_change = ?,
			force_change_password = ?, updated_at = ?, sessions_valid_from = ? WHERE tenant_id = ? AND id = ?`,
			u.UserPrincipalName, u.LoginKey, u.DisplayName, u.Mail, nullable(u.MailKey), boolInt(u.AccountEnabled),
			u.PasswordHash, ts(u.LastPasswordChangeDateTime), boolInt(u.ForceChangePasswordNextSignIn),
			ts(u.UpdatedAt), ts(u.SignInSessionsValidFrom), u.TenantID, u.ID)
		if err != nil {
			return mapErr(err, "update user")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("update user %s: %w", u.ID, store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_names WHERE user_id = ?`, u.ID); err != nil {
			return mapErr(err, "update user")
		}
		return insertLoginNames(ctx, tx, u)
	})
	return mapErr(err, "update user")
}

// DeleteUser implements store.Users.
func (db *DB) DeleteUser(ctx context.Context, tenantID, id string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, sql.ErrNoRows)
		}
		for _, q := range []string{
			`DELETE FROM role_assignments WHERE tenant_id = ? AND principal_id = ?`,
			`DELETE FROM user_networks WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM refresh_tokens WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM auth_codes WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM sso_sessions WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM device_cookies WHERE tenant_id = ? AND user_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, tenantID, id); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(err, "delete user "+id)
}
