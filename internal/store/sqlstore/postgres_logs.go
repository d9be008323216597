package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// The sign-in and audit logs on PostgreSQL: batches written with COPY,
// prefix filters, and retention's batch deletes.

var signInCopyColumns = []string{"id", "created_at", "tenant_id", "user_id", "upn", "app_id",
	"ip_address", "error_code", "correlation_id", "body"}

// copySignIns writes a batch with one COPY, which is one statement and so
// all or nothing: a failure leaves no part of the batch behind.
func (db *DB) copySignIns(ctx context.Context, rows []store.SignInRow) error {
	times := make([]time.Time, len(rows))
	for i, r := range rows {
		times[i] = r.CreatedAt
	}
	return db.withPartitions(ctx, "signins", times, func() error {
		conn, err := db.write.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Raw(func(driverConn any) error {
			pc := driverConn.(*rebindConn).Conn.Conn()
			_, err := pc.CopyFrom(ctx, pgx.Identifier{"signins"}, signInCopyColumns,
				pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
					r := rows[i]
					return []any{r.ID, ts(r.CreatedAt), r.TenantID, r.UserID, r.UPN, r.AppID,
						r.IPAddress, int64(r.ErrorCode), r.CorrelationID, r.Body}, nil
				}))
			return err
		})
	})
}

// startsWithPostgres is startswith(col, prefix) as an index range on
// PostgreSQL: col >= prefix and below the prefix's successor (its last
// character incremented), which with bytewise collation bounds exactly the
// strings that start with it. SQLite's bound, the prefix followed by byte
// 0xFF, is not valid UTF-8, which PostgreSQL refuses.
func startsWithPostgres(col string, isJSON bool, prefix string, args *[]any) string {
	if isJSON { // no index to use: a plain test
		*args = append(*args, prefix)
		return "starts_with(" + col + ", ?)"
	}
	upper, ok := prefixSuccessor(prefix)
	if !ok {
		*args = append(*args, prefix)
		return "(" + col + " >= ?)"
	}
	*args = append(*args, prefix, upper)
	return "(" + col + " >= ? AND " + col + " < ?)"
}

// prefixSuccessor is the smallest string greater than every string that
// starts with prefix; ok is false when there is none (prefix empty or all
// U+10FFFF).
func prefixSuccessor(prefix string) (string, bool) {
	runes := []rune(prefix)
	for len(runes) > 0 {
		last := runes[len(runes)-1]
		runes = runes[:len(runes)-1]
		next := last + 1
		if next >= 0xD800 && next <= 0xDFFF { // surrogates are not characters
			next = 0xE000
		}
		if next <= utf8.MaxRune {
			return string(append(runes, next)), true
		}
	}
	return "", false
}

// prunePostgres deletes at most limit of a tenant's rows of table (a
// constant) older than cutoff, oldest first. Whole expired months go by
// DropPartitionsBefore; this clears what remains of the boundary month.
func (db *DB) prunePostgres(ctx context.Context, table, tenantID string, cutoff time.Time, limit int) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE (id, created_at) IN
			(SELECT id, created_at FROM %[1]s WHERE tenant_id = ? AND created_at < ? ORDER BY created_at LIMIT ?)`,
			pgx.Identifier{table}.Sanitize()), tenantID, ts(cutoff), max(limit, 1))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), mapErr(err, "prune "+table)
}
