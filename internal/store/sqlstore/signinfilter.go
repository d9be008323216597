package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// signInColumn maps a filterable property to its SQL: an indexed column, or
// a path into the record's JSON for the rest (jsonColumn, per database).
// The maps are the only source of SQL text; values always travel as
// parameters.
var signInColumn = map[string]string{
	"createdDateTime":   "created_at",
	"userPrincipalName": "upn",
	"userId":            "user_id",
	"appId":             "app_id",
	"ipAddress":         "ip_address",
	"correlationId":     "correlation_id",
	"status/errorCode":  "error_code",
}

// signInJSONPath is where the other filterable properties sit in a
// record's JSON body.
var signInJSONPath = map[string][]string{
	"userDisplayName":          {"userDisplayName"},
	"appDisplayName":           {"appDisplayName"},
	"clientAppUsed":            {"clientAppUsed"},
	"location/countryOrRegion": {"location", "countryOrRegion"},
	"location/city":            {"location", "city"},
	"conditionalAccessStatus":  {"conditionalAccessStatus"},
	"riskLevelDuringSignIn":    {"riskLevelDuringSignIn"},
	"isInteractive":            {"isInteractive"},
}

// jsonColumn is the SQL reading path from the body: SQLite's json_extract
// gives booleans as 1 and 0, and the PostgreSQL expression does the same,
// so a Boolean filter compares with boolInt on both.
func (db *DB) jsonColumn(path []string, boolean bool) string {
	if !db.pg {
		return "json_extract(CAST(body AS TEXT), '$." + strings.Join(path, ".") + "')"
	}
	expr := "(convert_from(body, 'UTF8')::jsonb #>> '{" + strings.Join(path, ",") + "}')"
	if boolean {
		return "(" + expr + "::boolean)::int"
	}
	return expr
}

// filterColumn is the SQL for a filterable property and whether it reads
// the JSON body.
func (db *DB) filterColumn(field string) (col string, isJSON bool, err error) {
	if col, ok := signInColumn[field]; ok {
		return col, false, nil
	}
	if path, ok := signInJSONPath[field]; ok {
		return db.jsonColumn(path, field == "isInteractive"), true, nil
	}
	return "", false, fmt.Errorf("sign-in filter: no column for %q", field)
}

var sqlOps = map[odata.Op]string{odata.Eq: "=", odata.Ne: "<>", odata.Ge: ">=", odata.Le: "<="}

// whereSQL translates a parsed filter into a parameterised condition.
func (db *DB) whereSQL(e odata.Expr, args *[]any) (string, error) {
	switch n := e.(type) {
	case *odata.Compare:
		col, _, err := db.filterColumn(n.Field)
		if err != nil {
			return "", err
		}
		*args = append(*args, sqlValue(n.Value))
		return col + " " + sqlOps[n.Op] + " ?", nil
	case *odata.StartsWith:
		col, isJSON, err := db.filterColumn(n.Field)
		if err != nil {
			return "", err
		}
		if db.pg {
			return startsWithPostgres(col, isJSON, n.Prefix, args), nil
		}
		if !isJSON {
			// A range the column's index can serve: every string with the
			// prefix sorts between it and it followed by 0xFF, a byte that
			// never occurs in UTF-8.
			*args = append(*args, n.Prefix, n.Prefix+"\xff")
			return "(" + col + " >= ? AND " + col + " < ?)", nil
		}
		*args = append(*args, len([]rune(n.Prefix)), n.Prefix)
		return "substr(" + col + ", 1, ?) = ?", nil
	case *odata.And:
		return db.binarySQL(n.Left, n.Right, "AND", args)
	case *odata.Or:
		return db.binarySQL(n.Left, n.Right, "OR", args)
	case *odata.Not:
		inner, err := db.whereSQL(n.X, args)
		return "NOT (" + inner + ")", err
	}
	return "", fmt.Errorf("sign-in filter: unknown node %T", e)
}

func (db *DB) binarySQL(l, r odata.Expr, op string, args *[]any) (string, error) {
	left, err := db.whereSQL(l, args)
	if err != nil {
		return "", err
	}
	right, err := db.whereSQL(r, args)
	if err != nil {
		return "", err
	}
	return "(" + left + " " + op + " " + right + ")", nil
}

func sqlValue(v odata.Value) any {
	switch v.Type {
	case odata.Int:
		return v.Int
	case odata.Bool:
		return boolInt(v.Bool)
	case odata.DateTime:
		return ts(v.Time)
	}
	return v.Str
}

// signInIndex names the index a query walks. The choice is made here rather
// than by SQLite's planner because the planner needs statistics, and
// statistics sampled cheaply (ANALYZE with a row limit) read only the first
// entries of each index: with one tenant they claim a tenant has 401
// records, the planner then walks a month of the time index for one user's
// failures, and the troubleshooting query took seconds at 10,000,000
// records instead of a fraction of a millisecond. An exact ANALYZE of a
// large log holds the writer for seconds. A filter naming the user (at the
// top, joined by "and") walks that user's index; any other walks the time
// index, which also carries the correlation ID. Address filters have their
// own route (signinip.go).
//
// PostgreSQL's planner keeps exact enough statistics (ANALYZE samples whole
// tables, and autovacuum runs it), so there the choice is left to it.
func (db *DB) signInIndex(e odata.Expr) string {
	switch field, _ := userEquality(e); field {
	case "userPrincipalName":
		return db.indexHint("signins_upn_time")
	case "userId":
		return db.indexHint("signins_user_time")
	}
	return db.indexHint("signins_tenant_time")
}

// indexHint is SQLite's "INDEXED BY index", or nothing on PostgreSQL.
func (db *DB) indexHint(index string) string {
	if db.pg {
		return ""
	}
	return "INDEXED BY " + index
}

// userEquality finds "userPrincipalName eq" or "userId eq" among the
// clauses joined by "and" at the top of a filter.
func userEquality(e odata.Expr) (string, bool) {
	switch n := e.(type) {
	case *odata.And:
		if f, ok := userEquality(n.Left); ok {
			return f, true
		}
		return userEquality(n.Right)
	case *odata.Compare:
		if n.Op == odata.Eq && (n.Field == "userPrincipalName" || n.Field == "userId") {
			return n.Field, true
		}
	}
	return "", false
}

// FindSignIns implements store.SignInSearch: keyset paging in (created_at,
// id) order, which new records (always newer) can never disturb.
func (db *DB) FindSignIns(ctx context.Context, f store.SignInFilter) ([]store.SignInRow, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if bucket, cond, ipArgs, ok := ipAccess(f.Where); ok && !db.pg {
		return db.findSignInsByIP(ctx, f, bucket, cond, ipArgs, limit)
	}
	args := []any{f.TenantID}
	conds := []string{"tenant_id = ?"}
	if f.Where != nil {
		w, err := db.whereSQL(f.Where, &args)
		if err != nil {
			return nil, err
		}
		conds = append(conds, w)
	}
	dir, cmp := "DESC", "<"
	if f.Ascending {
		dir, cmp = "ASC", ">"
	}
	if f.After != nil {
		conds = append(conds, "(created_at, id) "+cmp+" (?, ?)")
		args = append(args, ts(f.After.CreatedAt), f.After.ID)
	}
	args = append(args, limit)
	rows, err := db.read.QueryContext(ctx, `SELECT `+signInColumns+` FROM signins `+db.signInIndex(f.Where)+
		` WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY created_at `+dir+`, id `+dir+` LIMIT ?`, args...)
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

// CountSignIns implements store.SignInSearch.
func (db *DB) CountSignIns(ctx context.Context, tenantID string, where odata.Expr) (int64, error) {
	if bucket, cond, ipArgs, ok := ipAccess(where); ok && !db.pg {
		return db.countSignInsByIP(ctx, tenantID, where, bucket, cond, ipArgs)
	}
	args := []any{tenantID}
	cond := "tenant_id = ?"
	if where != nil {
		w, err := db.whereSQL(where, &args)
		if err != nil {
			return 0, err
		}
		cond += " AND " + w
	}
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM signins `+db.signInIndex(where)+` WHERE `+cond, args...).Scan(&n)
	return n, mapErr(err, "count sign-ins")
}

// PruneSignIns implements store.SignInSearch.
func (db *DB) PruneSignIns(ctx context.Context, tenantID string, cutoff time.Time, limit int) (int, error) {
	n, err := db.prune(ctx, "signins", tenantID, cutoff, limit)
	if err != nil || db.pg {
		return n, err
	}
	// The address index's entries of records no longer in the log: in each
	// bucket (an IPv4 first octet, or 256 plus the first character of an
	// IPv6 address: see signinip.go), those before the cutoff whose record
	// is gone. The index has no tenant, so records of other tenants not yet
	// pruned keep theirs.
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		for bucket := -1; bucket < 512; bucket++ {
			if _, err := tx.ExecContext(ctx, `DELETE FROM signin_ip_index WHERE ix_bucket = ? AND ix_created < ?
				AND NOT EXISTS (SELECT 1 FROM signins WHERE signins.rowid = ix_rowid)`, bucket, ts(cutoff)); err != nil {
				return err
			}
		}
		return nil
	})
	return n, mapErr(err, "prune the sign-in address index")
}

// PruneAudits implements store.SignInSearch.
func (db *DB) PruneAudits(ctx context.Context, tenantID string, cutoff time.Time, limit int) (int, error) {
	return db.prune(ctx, "directory_audits", tenantID, cutoff, limit)
}

// prune deletes a tenant's oldest rows of table (a constant, never input)
// before cutoff, at most limit of them, through the (tenant_id, created_at)
// index, in one short transaction.
func (db *DB) prune(ctx context.Context, table, tenantID string, cutoff time.Time, limit int) (int, error) {
	if db.pg {
		return db.prunePostgres(ctx, table, tenantID, cutoff, limit)
	}
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// The newest row always stays: SQLite gives a new row the largest
		// rowid plus one, so keeping it keeps rowids increasing, which the
		// sign-in address index's watermark relies on.
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE rowid IN (SELECT rowid FROM `+table+
			` WHERE tenant_id = ? AND created_at < ? ORDER BY created_at LIMIT ?)
			AND rowid < (SELECT max(rowid) FROM `+table+`)`, tenantID, ts(cutoff), max(limit, 1))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), mapErr(err, "prune "+table)
}
