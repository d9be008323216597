package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// IP blocks and named locations (store.IPBlocks, store.NamedLocations).

const ipBlockColumns = `id, prefix, origin, rule, reason, evidence, report_only, created_at, created_by,
	expires_at, revoked_at, revoked_by, revoke_reason`

// bumpIPBlocksVersion increments the change counter inside tx, so the
// version moves exactly when a create or revoke commits.
func bumpIPBlocksVersion(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE ip_blocks_version SET version = version + 1 WHERE id = 1`)
	return err
}

// CreateIPBlock implements store.IPBlocks. A duplicate ID is ErrConflict.
func (db *DB) CreateIPBlock(ctx context.Context, b store.IPBlock) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ip_blocks(`+ipBlockColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.Prefix, b.Origin, b.Rule, b.Reason, b.Evidence, boolInt(b.ReportOnly), ts(b.CreatedAt),
			b.CreatedBy, ts(b.ExpiresAt), ts(b.RevokedAt), b.RevokedBy, b.RevokeReason)
		if err != nil {
			return err
		}
		return bumpIPBlocksVersion(ctx, tx)
	})
	return mapErr(err, "create ip block "+b.ID)
}

// GetIPBlock implements store.IPBlocks.
func (db *DB) GetIPBlock(ctx context.Context, id string) (store.IPBlock, error) {
	b, err := scanIPBlock(db.read.QueryRowContext(ctx, `SELECT `+ipBlockColumns+` FROM ip_blocks WHERE id = ?`, id))
	return b, mapErr(err, "get ip block "+id)
}

// ListIPBlocks implements store.IPBlocks: newest first, ties broken by ID.
// The active filter matches store.IPBlock.Active at microsecond resolution.
func (db *DB) ListIPBlocks(ctx context.Context, activeOnly bool, now time.Time) ([]store.IPBlock, error) {
	q := `SELECT ` + ipBlockColumns + ` FROM ip_blocks`
	var args []any
	if activeOnly {
		q += ` WHERE revoked_at = 0 AND report_only = 0 AND (expires_at = 0 OR expires_at > ?)`
		args = append(args, ts(now))
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return nil, mapErr(err, "list ip blocks")
	}
	defer rows.Close()
	var out []store.IPBlock
	for rows.Next() {
		b, err := scanIPBlock(rows)
		if err != nil {
			return nil, mapErr(err, "list ip blocks")
		}
		out = append(out, b)
	}
	return out, mapErr(rows.Err(), "list ip blocks")
}

func scanIPBlock(row interface{ Scan(...any) error }) (store.IPBlock, error) {
	var b store.IPBlock
	var reportOnly int
	var created, expires, revoked int64
	if err := row.Scan(&b.ID, &b.Prefix, &b.Origin, &b.Rule, &b.Reason, &b.Evidence, &reportOnly, &created,
		&b.CreatedBy, &expires, &revoked, &b.RevokedBy, &b.RevokeReason); err != nil {
		return b, err
	}
	b.ReportOnly = reportOnly == 1
	b.CreatedAt, b.ExpiresAt, b.RevokedAt = fromTS(created), fromTS(expires), fromTS(revoked)
	return b, nil
}

// RevokeIPBlock implements store.IPBlocks. The first revoke wins; a later
// one succeeds without rewriting it and leaves the version alone.
func (db *DB) RevokeIPBlock(ctx context.Context, id string, at time.Time, by, reason string) error {
	if at.IsZero() {
		// A zero time is stored as 0, which means "not revoked".
		return fmt.Errorf("revoke ip block %s: zero revoke time", id)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ip_blocks SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
			WHERE id = ? AND revoked_at = 0`, ts(at), by, reason, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n > 0 {
			return bumpIPBlocksVersion(ctx, tx)
		}
		// Nothing updated: already revoked (fine) or no such block.
		var one int
		return tx.QueryRowContext(ctx, `SELECT 1 FROM ip_blocks WHERE id = ?`, id).Scan(&one)
	})
	return mapErr(err, "revoke ip block "+id)
}

// IPBlocksVersion implements store.IPBlocks.
func (db *DB) IPBlocksVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.read.QueryRowContext(ctx, `SELECT version FROM ip_blocks_version WHERE id = 1`).Scan(&v)
	return v, mapErr(err, "ip blocks version")
}

// CreateNamedLocation implements store.NamedLocations. A name already used
// in the tenant (or a duplicate ID) is ErrConflict; an unknown tenant is
// ErrNotFound through the foreign key.
func (db *DB) CreateNamedLocation(ctx context.Context, l store.NamedLocation) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO named_locations(id, tenant_id, display_name, cidrs, countries,
			include_unknown, trusted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.TenantID, l.DisplayName, joinList(l.CIDRs), joinList(l.Countries),
			boolInt(l.IncludeUnknownCountries), boolInt(l.Trusted), ts(l.CreatedAt))
		return err
	})
	return mapErr(foreignKeyNotFound(err), "create named location "+l.DisplayName)
}

// ListNamedLocations implements store.NamedLocations, ordered by name.
func (db *DB) ListNamedLocations(ctx context.Context, tenantID string) ([]store.NamedLocation, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, tenant_id, display_name, cidrs, countries, include_unknown,
		trusted, created_at FROM named_locations WHERE tenant_id = ? ORDER BY display_name, id`, tenantID)
	if err != nil {
		return nil, mapErr(err, "list named locations")
	}
	defer rows.Close()
	var out []store.NamedLocation
	for rows.Next() {
		var l store.NamedLocation
		var cidrs, countries string
		var unknown, trusted int
		var created int64
		if err := rows.Scan(&l.ID, &l.TenantID, &l.DisplayName, &cidrs, &countries, &unknown, &trusted,
			&created); err != nil {
			return nil, mapErr(err, "list named locations")
		}
		l.CIDRs, l.Countries, l.CreatedAt = splitList(cidrs), splitList(countries), fromTS(created)
		l.IncludeUnknownCountries, l.Trusted = unknown == 1, trusted == 1
		out = append(out, l)
	}
	return out, mapErr(rows.Err(), "list named locations")
}

// DeleteNamedLocation implements store.NamedLocations. An unknown ID, or
// one belonging to another tenant, is ErrNotFound.
func (db *DB) DeleteNamedLocation(ctx context.Context, tenantID, id string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM named_locations WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return mapErr(err, "delete named location "+id)
}
