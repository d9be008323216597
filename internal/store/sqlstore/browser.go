package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// CreateAuthCode implements store.AuthCodes.
func (db *DB) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_codes(hash, tenant_id, client_id, user_id, redirect_uri, scopes,
			nonce, code_challenge, session_id, auth_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Hash, c.TenantID, c.ClientID, c.UserID, c.RedirectURI, c.Scopes, c.Nonce, c.CodeChallenge, c.SessionID,
			ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt))
		return err
	})
	return mapErr(err, "create authorization code")
}

// RedeemAuthCode implements store.AuthCodes: read and mark in one write
// transaction, so two redemptions of one code cannot both succeed.
func (db *DB) RedeemAuthCode(ctx context.Context, hash string, at time.Time) (store.AuthCode, error) {
	var c store.AuthCode
	replay := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var authTime, created, expires, redeemed int64
		err := tx.QueryRowContext(ctx, `SELECT hash, tenant_id, client_id, user_id, redirect_uri, scopes, nonce,
			code_challenge, session_id, auth_time, created_at, expires_at, redeemed_at, family_id FROM auth_codes WHERE hash = ?`, hash).
			Scan(&c.Hash, &c.TenantID, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scopes, &c.Nonce, &c.CodeChallenge,
				&c.SessionID, &authTime, &created, &expires, &redeemed, &c.FamilyID)
		if err != nil {
			return err
		}
		c.AuthTime, c.CreatedAt, c.ExpiresAt, c.RedeemedAt = fromTS(authTime), fromTS(created), fromTS(expires), fromTS(redeemed)
		if redeemed != 0 {
			replay = true
			return nil
		}
		c.RedeemedAt = at
		_, err = tx.ExecContext(ctx, `UPDATE auth_codes SET redeemed_at = ? WHERE hash = ?`, ts(at), hash)
		return err
	})
	if err == nil && replay {
		return c, mapErr(store.ErrConflict, "authorization code already redeemed")
	}
	return c, mapErr(err, "redeem authorization code")
}

// SetAuthCodeFamily implements store.AuthCodes.
func (db *DB) SetAuthCodeFamily(ctx context.Context, hash, familyID string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE auth_codes SET family_id = ? WHERE hash = ?`, familyID, hash)
		return err
	})
	return mapErr(err, "record the code's refresh tokens")
}

// PruneGrants implements store.AuthCodes.
func (db *DB) PruneGrants(ctx context.Context, cutoff time.Time) (int, error) {
	var total int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM auth_codes WHERE expires_at < ?1`,
			`DELETE FROM refresh_tokens WHERE expires_at < ?1 OR (revoked_at <> 0 AND revoked_at < ?1)`,
			`DELETE FROM sso_sessions WHERE expires_at < ?1 OR (revoked_at <> 0 AND revoked_at < ?1)`,
			`DELETE FROM device_cookies WHERE revoked_at <> 0 AND revoked_at < ?1`,
		} {
			res, err := tx.ExecContext(ctx, q, ts(cutoff))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return int(total), mapErr(err, "prune expired grants")
}

// CreateSession implements store.Sessions.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sso_sessions(id, tenant_id, user_id, created_at, expires_at, persistent)
			VALUES (?, ?, ?, ?, ?, ?)`, s.ID, s.TenantID, s.UserID, ts(s.CreatedAt), ts(s.ExpiresAt), boolInt(s.Persistent))
		return err
	})
	return mapErr(err, "create session")
}

// GetSession implements store.Sessions.
func (db *DB) GetSession(ctx context.Context, id string) (store.Session, error) {
	var s store.Session
	var created, expires, revoked int64
	var persistent int
	err := db.read.QueryRowContext(ctx, `SELECT id, tenant_id, user_id, created_at, expires_at, persistent, revoked_at
		FROM sso_sessions WHERE id = ?`, id).Scan(&s.ID, &s.TenantID, &s.UserID, &created, &expires, &persistent, &revoked)
	s.CreatedAt, s.ExpiresAt, s.RevokedAt, s.Persistent = fromTS(created), fromTS(expires), fromTS(revoked), persistent == 1
	return s, mapErr(err, "get session")
}

// RevokeSession implements store.Sessions.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sso_sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, ts(at), id)
		return err
	})
	return mapErr(err, "revoke session")
}

// CreateDeviceCookie implements store.Sessions.
func (db *DB) CreateDeviceCookie(ctx context.Context, d store.DeviceCookie) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO device_cookies(id, tenant_id, user_id, created_at) VALUES (?, ?, ?, ?)`,
			d.ID, d.TenantID, d.UserID, ts(d.CreatedAt))
		return err
	})
	return mapErr(err, "create device cookie")
}

// GetDeviceCookie implements store.Sessions.
func (db *DB) GetDeviceCookie(ctx context.Context, id string) (store.DeviceCookie, error) {
	var d store.DeviceCookie
	var created, revoked int64
	err := db.read.QueryRowContext(ctx, `SELECT id, tenant_id, user_id, created_at, revoked_at FROM device_cookies WHERE id = ?`, id).
		Scan(&d.ID, &d.TenantID, &d.UserID, &created, &revoked)
	d.CreatedAt, d.RevokedAt = fromTS(created), fromTS(revoked)
	return d, mapErr(err, "get device cookie")
}

// RevokeDeviceCookies implements store.Sessions.
func (db *DB) RevokeDeviceCookies(ctx context.Context, tenantID, userID string, at time.Time) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE device_cookies SET revoked_at = ? WHERE tenant_id = ? AND user_id = ?
			AND revoked_at = 0`, ts(at), tenantID, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), mapErr(err, "revoke device cookies")
}

// RotateRefreshToken implements store.RefreshTokens.
func (db *DB) RotateRefreshToken(ctx context.Context, oldID string, next store.RefreshToken, at time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at = 0 AND revoked_at = 0`,
			ts(at), oldID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errors.Join(store.ErrConflict, errors.New("the refresh token was already redeemed or revoked"))
		}
		_, err = db.txExec(ctx, tx, insertRefreshTokenSQL, next.ID, next.Hash, next.FamilyID, next.TenantID, next.UserID,
			next.ClientID, next.Scopes, ts(next.CreatedAt), ts(next.ExpiresAt), ts(next.RevokedAt))
		return err
	})
	return mapErr(err, "rotate refresh token")
}
