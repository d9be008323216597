package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// The address index of the sign-in log (migration 00007) is written in
// bulk: when ipIndexEvery records have been appended since it was last
// brought up to date, the sign-in log commit that crosses the mark also
// copies them (at most ipIndexMaxStep) into signin_ip_index. The entries are
// keyed by bucket (the first octet) and time, so a step appends at no more
// than a few hundred page tails however random the addresses. Queries on an
// address read the index for rows up to the watermark and the few rows
// above it directly, in one read transaction.
const (
	ipIndexEvery   = 16384
	ipIndexMaxStep = 32768
)

// ipBucketSQL is the bucket of signins.ip_address; ipBucket mirrors it.
const ipBucketSQL = `CASE WHEN instr(ip_address, ':') > 0 THEN 256 + unicode(ip_address)
	WHEN instr(ip_address, '.') BETWEEN 2 AND 4 THEN CAST(substr(ip_address, 1, instr(ip_address, '.') - 1) AS INTEGER)
	ELSE -1 END`

// ipBucket is the bucket of every address equal to, or starting with, s,
// when s determines it: an IPv4 text with its first octet complete, or any
// IPv6 text (its first character).
func ipBucket(s string) (int, bool) {
	if strings.Contains(s, ":") {
		r, _ := utf8.DecodeRuneInString(s)
		return 256 + int(r), true
	}
	i := strings.IndexByte(s, '.')
	if i < 1 || i > 3 {
		return 0, false
	}
	for _, c := range s[:i] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s[:i])
	return n, err == nil
}

// ipAccess finds, among the clauses joined by "and" at the top of a
// filter, one that pins the address to a bucket, and returns the index
// condition that serves it.
func ipAccess(e odata.Expr) (bucket int, cond string, args []any, ok bool) {
	switch n := e.(type) {
	case *odata.And:
		if b, c, a, ok := ipAccess(n.Left); ok {
			return b, c, a, true
		}
		return ipAccess(n.Right)
	case *odata.Compare:
		if n.Field == "ipAddress" && n.Op == odata.Eq {
			if b, ok := ipBucket(n.Value.Str); ok {
				return b, "x.ix_ip = ?", []any{n.Value.Str}, true
			}
		}
	case *odata.StartsWith:
		if n.Field == "ipAddress" {
			if b, ok := ipBucket(n.Prefix); ok {
				return b, "x.ix_ip >= ? AND x.ix_ip < ?", []any{n.Prefix, n.Prefix + "\xff"}, true
			}
		}
	}
	return 0, "", nil, false
}

// indexSignInIPs brings the address index up to date by at most limit
// records, in tx, and reports how many it indexed.
func indexSignInIPs(ctx context.Context, tx *sql.Tx, limit int) (int, error) {
	var from, upto int64
	if err := tx.QueryRowContext(ctx, `SELECT indexed_upto FROM signin_ip_index_state`).Scan(&from); err != nil {
		return 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM
		(SELECT rowid FROM signins WHERE rowid > ? ORDER BY rowid LIMIT ?)`, from, limit).Scan(&upto); err != nil {
		return 0, err
	}
	if upto <= from {
		return 0, nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO signin_ip_index(ix_bucket, ix_created, ix_rowid, ix_ip)
		SELECT `+ipBucketSQL+`, created_at, rowid, ip_address FROM signins
		WHERE rowid > ? AND rowid <= ? ORDER BY rowid`, from, upto)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE signin_ip_index_state SET indexed_upto = ?`, upto); err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// IndexSignIns brings the address index up to date by at most limit
// records in a transaction of its own. Run in a loop at start until it
// returns less than limit, it works off the backlog of a log written before
// the index existed without holding the writer for long.
func (db *DB) IndexSignIns(ctx context.Context, limit int) (int, error) {
	if db.pg { // PostgreSQL indexes addresses as it writes (00001_initial.sql)
		return 0, nil
	}
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = indexSignInIPs(ctx, tx, max(limit, 1))
		return err
	})
	return n, mapErr(err, "index sign-in addresses")
}

// maybeIndexSignIns runs an index step in the sign-in log commit tx once
// ipIndexEvery records are pending.
func (db *DB) maybeIndexSignIns(ctx context.Context, tx *sql.Tx, appended int) error {
	if db.ipPending.Add(int64(appended)) < ipIndexEvery {
		return nil
	}
	db.ipPending.Store(0)
	_, err := indexSignInIPs(ctx, tx, ipIndexMaxStep)
	return err
}

// findSignInsByIP is FindSignIns for a filter pinning the address to a
// bucket: the indexed rows through the index, the rest directly.
func (db *DB) findSignInsByIP(ctx context.Context, f store.SignInFilter, bucket int, ipCond string, ipArgs []any,
	limit int) ([]store.SignInRow, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}) // one snapshot for the watermark and both reads
	if err != nil {
		return nil, mapErr(err, "find sign-ins")
	}
	defer tx.Rollback()
	var upto int64
	if err := tx.QueryRowContext(ctx, `SELECT indexed_upto FROM signin_ip_index_state`).Scan(&upto); err != nil {
		return nil, mapErr(err, "find sign-ins")
	}
	dir, cmp := "DESC", "<"
	if f.Ascending {
		dir, cmp = "ASC", ">"
	}
	where, whereArgs, err := db.signInWhere(f.Where)
	if err != nil {
		return nil, err
	}
	indexed := `SELECT ` + signInColumns + ` FROM signin_ip_index x CROSS JOIN signins s ON s.rowid = x.ix_rowid
		WHERE x.ix_bucket = ? AND ` + ipCond + ` AND s.tenant_id = ? AND ` + where
	args := append(append(append([]any{bucket}, ipArgs...), f.TenantID), whereArgs...)
	tail := `SELECT ` + signInColumns + ` FROM signins NOT INDEXED WHERE rowid > ? AND tenant_id = ? AND ` + where
	tailArgs := append([]any{upto, f.TenantID}, whereArgs...)
	if f.After != nil {
		// The first condition is a range on the index; the second, exact.
		indexed += ` AND x.ix_created ` + cmp + `= ? AND (created_at, id) ` + cmp + ` (?, ?)`
		tail += ` AND (created_at, id) ` + cmp + ` (?, ?)`
		args = append(args, ts(f.After.CreatedAt), ts(f.After.CreatedAt), f.After.ID)
		tailArgs = append(tailArgs, ts(f.After.CreatedAt), f.After.ID)
	}
	// The index gives the time order; SQLite sorts only records sharing a
	// time by ID, and stops at the limit.
	indexed += ` ORDER BY x.ix_created ` + dir + `, id ` + dir + ` LIMIT ?`
	tail += ` ORDER BY created_at ` + dir + `, id ` + dir + ` LIMIT ?`
	a, err := querySignIns(ctx, tx, indexed, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	b, err := querySignIns(ctx, tx, tail, append(tailArgs, limit)...)
	if err != nil {
		return nil, err
	}
	return mergeSignIns(a, b, f.Ascending, limit), nil
}

// countSignInsByIP is CountSignIns for a filter pinning the address.
func (db *DB) countSignInsByIP(ctx context.Context, tenantID string, where odata.Expr, bucket int, ipCond string, ipArgs []any) (int64, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, mapErr(err, "count sign-ins")
	}
	defer tx.Rollback()
	cond, whereArgs, err := db.signInWhere(where)
	if err != nil {
		return 0, err
	}
	var indexed, tail int64
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM signin_ip_index x CROSS JOIN signins s ON s.rowid = x.ix_rowid
		WHERE x.ix_bucket = ? AND `+ipCond+` AND s.tenant_id = ? AND `+cond,
		append(append(append([]any{bucket}, ipArgs...), tenantID), whereArgs...)...).Scan(&indexed)
	if err == nil {
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM signins NOT INDEXED WHERE
			rowid > (SELECT indexed_upto FROM signin_ip_index_state) AND tenant_id = ? AND `+cond,
			append([]any{tenantID}, whereArgs...)...).Scan(&tail)
	}
	return indexed + tail, mapErr(err, "count sign-ins")
}

// signInWhere is the filter as SQL ("1" for none) with its arguments.
func (db *DB) signInWhere(e odata.Expr) (string, []any, error) {
	if e == nil {
		return "1", nil, nil
	}
	var args []any
	w, err := db.whereSQL(e, &args)
	return w, args, err
}

func querySignIns(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]store.SignInRow, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err, "find sign-ins")
	}
	defer rows.Close()
	var out []store.SignInRow
	for rows.Next() {
		r, err := scanSignIn(rows)
		if err != nil {
			return nil, mapErr(err, "find sign-ins")
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err(), "find sign-ins")
}

// mergeSignIns merges two lists sorted in the page's order and keeps the
// first limit.
func mergeSignIns(a, b []store.SignInRow, ascending bool, limit int) []store.SignInRow {
	out := append(a, b...)
	slices.SortFunc(out, func(x, y store.SignInRow) int {
		c := x.CreatedAt.Compare(y.CreatedAt)
		if c == 0 {
			c = strings.Compare(x.ID, y.ID)
		}
		if !ascending {
			c = -c
		}
		return c
	})
	return out[:min(len(out), limit)]
}
