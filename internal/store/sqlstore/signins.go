package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// AppendSignIns implements store.SignInLogs: the whole batch is one durable
// transaction, which is what makes group commit cheap.
func (db *DB) AppendSignIns(ctx context.Context, rows []store.SignInRow) error {
	if len(rows) == 0 {
		return nil
	}
	if db.pg {
		return mapErr(db.copySignIns(ctx, rows), "append sign-ins")
	}
	insert := func(tx *sql.Tx) error {
		if err := insertSignIns(ctx, tx, rows); err != nil {
			return err
		}
		return db.maybeIndexSignIns(ctx, tx, len(rows))
	}
	if db.relaxed { // commit with synchronous=FULL
		return mapErr(db.syncedTx(ctx, insert), "append sign-ins")
	}
	return mapErr(db.inTx(ctx, insert), "append sign-ins")
}

// syncedTx runs fn in a transaction committed with synchronous=FULL on the
// (only) write connection, pinned so nothing else runs between the pragma
// and the commit: for records that must survive power loss once
// acknowledged while the rest of the database runs relaxed.
func (db *DB) syncedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), `PRAGMA synchronous = NORMAL`) // best effort: FULL is the safe side
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func insertSignIns(ctx context.Context, tx *sql.Tx, rows []store.SignInRow) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO signins(id, created_at, tenant_id, user_id, upn, app_id,
		ip_address, error_code, correlation_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r.ID, ts(r.CreatedAt), r.TenantID, r.UserID, r.UPN, r.AppID,
			r.IPAddress, r.ErrorCode, r.CorrelationID, r.Body); err != nil {
			return mapErr(err, "sign-in "+r.ID)
		}
	}
	return nil
}

const signInColumns = `id, created_at, tenant_id, user_id, upn, app_id, ip_address, error_code, correlation_id, body`

func scanSignIn(row interface{ Scan(...any) error }) (store.SignInRow, error) {
	var r store.SignInRow
	var created int64
	err := row.Scan(&r.ID, &created, &r.TenantID, &r.UserID, &r.UPN, &r.AppID, &r.IPAddress, &r.ErrorCode,
		&r.CorrelationID, &r.Body)
	r.CreatedAt = fromTS(created)
	return r, err
}

// GetSignIn implements store.SignInLogs.
func (db *DB) GetSignIn(ctx context.Context, tenantID, id string) (store.SignInRow, error) {
	r, err := scanSignIn(db.read.QueryRowContext(ctx, `SELECT `+signInColumns+` FROM signins
		WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return r, mapErr(err, "get sign-in")
}

// QuerySignIns implements store.SignInLogs. Conditions are built from typed
// fields with placeholders only.
func (db *DB) QuerySignIns(ctx context.Context, q store.SignInQuery) ([]store.SignInRow, error) {
	where := []string{"tenant_id = ?"}
	args := []any{q.TenantID}
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if q.UserID != "" {
		add("user_id = ?", q.UserID)
	}
	if q.UPN != "" {
		add("upn = ?", q.UPN)
	}
	if q.ErrorCode != nil {
		add("error_code = ?", *q.ErrorCode)
	}
	if q.CorrelationID != "" {
		add("correlation_id = ?", q.CorrelationID)
	}
	if !q.Since.IsZero() {
		add("created_at >= ?", ts(q.Since))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, `SELECT `+signInColumns+` FROM signins WHERE `+
		strings.Join(where, " AND ")+` ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, mapErr(err, "query sign-ins")
	}
	defer rows.Close()
	var out []store.SignInRow
	for rows.Next() {
		r, err := scanSignIn(rows)
		if err != nil {
			return nil, mapErr(err, "query sign-ins")
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err(), "query sign-ins")
}
