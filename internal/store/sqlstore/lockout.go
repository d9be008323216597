package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Budgets, lockout audit records, tenant policies and familiar networks
// (store.Budgets, store.Lockouts, store.LockoutPolicies, store.FamiliarNetworks).

const budgetColumns = `tenant_id, subject, class, scope, version, failures, locked_until, locked_at,
	lockouts, lockout_id, typos, updated_at`

// GetBudget implements store.Budgets. A missing budget is not an error: the
// caller starts from the zero state and inserts it with PutBudget (Version 0).
func (db *DB) GetBudget(ctx context.Context, key store.BudgetKey) (store.BudgetState, error) {
	st, err := scanBudget(db.queryRow(ctx, `SELECT `+budgetColumns+` FROM budgets
		WHERE tenant_id = ? AND subject = ? AND class = ? AND scope = ?`, key.TenantID, key.Subject, key.Class, key.Scope))
	if errors.Is(err, sql.ErrNoRows) {
		return store.BudgetState{Key: key}, nil
	}
	return st, mapErr(err, "get budget")
}

// PutBudget implements store.Budgets as compare-and-swap. The version check
// sits in the statement itself, inside a BEGIN IMMEDIATE transaction, so a
// writer in another process that updated the row first makes this one match
// no row (or hit the primary key) and report ErrConflict instead of
// overwriting its update.
func (db *DB) PutBudget(ctx context.Context, st store.BudgetState) (int64, error) {
	failures, typos, err := encodeBudgetLists(st)
	if err != nil {
		return 0, err
	}
	k := st.Key
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if st.Version == 0 {
			_, err := db.txExec(ctx, tx, insertBudgetSQL,
				k.TenantID, k.Subject, k.Class, k.Scope, failures, ts(st.LockedUntil), ts(st.LockedAt),
				st.Lockouts, st.LockoutID, typos, ts(st.UpdatedAt))
			return err
		}
		res, err := db.txExec(ctx, tx, updateBudgetSQL,
			failures, ts(st.LockedUntil), ts(st.LockedAt), st.Lockouts, st.LockoutID, typos, ts(st.UpdatedAt),
			k.TenantID, k.Subject, k.Class, k.Scope, st.Version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("budget %s changed since version %d: %w", k, st.Version, store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return 0, mapErr(err, "put budget")
	}
	return st.Version + 1, nil
}

// ListBudgets implements store.Budgets, ordered by class then scope so
// callers (and admins reading them) see a stable order.
func (db *DB) ListBudgets(ctx context.Context, tenantID, subject string) ([]store.BudgetState, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+budgetColumns+` FROM budgets
		WHERE tenant_id = ? AND subject = ? ORDER BY class, scope`, tenantID, subject)
	if err != nil {
		return nil, mapErr(err, "list budgets")
	}
	defer rows.Close()
	var out []store.BudgetState
	for rows.Next() {
		st, err := scanBudget(rows)
		if err != nil {
			return nil, mapErr(err, "list budgets")
		}
		out = append(out, st)
	}
	return out, mapErr(rows.Err(), "list budgets")
}

func scanBudget(row interface{ Scan(...any) error }) (store.BudgetState, error) {
	var st store.BudgetState
	var failures, typos string
	var lockedUntil, lockedAt, updated int64
	k := &st.Key
	if err := row.Scan(&k.TenantID, &k.Subject, &k.Class, &k.Scope, &st.Version, &failures, &lockedUntil,
		&lockedAt, &st.Lockouts, &st.LockoutID, &typos, &updated); err != nil {
		return st, err
	}
	st.LockedUntil, st.LockedAt, st.UpdatedAt = fromTS(lockedUntil), fromTS(lockedAt), fromTS(updated)
	var err error
	if st.Failures, err = decodeFailures(failures); err != nil {
		return st, fmt.Errorf("budget %s: %w", st.Key, err)
	}
	if st.Typos, err = decodeTypos(typos); err != nil {
		return st, fmt.Errorf("budget %s: %w", st.Key, err)
	}
	return st, nil
}

// typoJSON is a Typo as stored: the time as Unix microseconds keeps the
// column small and matches every other timestamp in the database.
type typoJSON struct {
	MAC string `json:"mac"`
	At  int64  `json:"at"`
}

// encodeBudgetLists packs failures as comma-separated Unix microseconds
// (compact, and budgets are read on every sign-in) and typos as JSON.
// Empty lists are stored as "" so they read back as nil.
func encodeBudgetLists(st store.BudgetState) (failures, typos string, err error) {
	var b strings.Builder
	for i, f := range st.Failures {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(ts(f), 10))
	}
	if len(st.Typos) == 0 {
		return b.String(), "", nil
	}
	enc := make([]typoJSON, len(st.Typos))
	for i, t := range st.Typos {
		enc[i] = typoJSON{MAC: t.MAC, At: ts(t.At)}
	}
	raw, err := json.Marshal(enc)
	if err != nil {
		return "", "", fmt.Errorf("encode typos of budget %s: %w", st.Key, err)
	}
	return b.String(), string(raw), nil
}

func decodeFailures(s string) ([]time.Time, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]time.Time, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("decode failures: %w", err)
		}
		out[i] = fromTS(v)
	}
	return out, nil
}

func decodeTypos(s string) ([]store.Typo, error) {
	if s == "" {
		return nil, nil
	}
	var enc []typoJSON
	if err := json.Unmarshal([]byte(s), &enc); err != nil {
		return nil, fmt.Errorf("decode typos: %w", err)
	}
	if len(enc) == 0 {
		return nil, nil
	}
	out := make([]store.Typo, len(enc))
	for i, t := range enc {
		out[i] = store.Typo{MAC: t.MAC, At: fromTS(t.At)}
	}
	return out, nil
}

// CreateLockout implements store.Lockouts. A duplicate ID is ErrConflict.
func (db *DB) CreateLockout(ctx context.Context, l store.Lockout) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO lockouts(id, tenant_id, subject, class, scope, started_at,
			expires_at, failure_count, reason, cleared_at, cleared_by, cleared_how, clear_reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.TenantID, l.Subject, l.Class, l.Scope, ts(l.StartedAt), ts(l.ExpiresAt), l.FailureCount,
			l.Reason, ts(l.ClearedAt), l.ClearedBy, l.ClearedHow, l.ClearReason)
		return err
	})
	return mapErr(err, "create lockout "+l.ID)
}

// ListLockouts implements store.Lockouts: newest first, ties broken by ID
// so paging through equal timestamps stays deterministic.
func (db *DB) ListLockouts(ctx context.Context, tenantID, subject string, limit int) ([]store.Lockout, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, tenant_id, subject, class, scope, started_at, expires_at,
		failure_count, reason, cleared_at, cleared_by, cleared_how, clear_reason FROM lockouts
		WHERE tenant_id = ? AND subject = ? ORDER BY started_at DESC, id DESC LIMIT ?`, tenantID, subject, limit)
	if err != nil {
		return nil, mapErr(err, "list lockouts")
	}
	defer rows.Close()
	var out []store.Lockout
	for rows.Next() {
		var l store.Lockout
		var started, expires, cleared int64
		if err := rows.Scan(&l.ID, &l.TenantID, &l.Subject, &l.Class, &l.Scope, &started, &expires,
			&l.FailureCount, &l.Reason, &cleared, &l.ClearedBy, &l.ClearedHow, &l.ClearReason); err != nil {
			return nil, mapErr(err, "list lockouts")
		}
		l.StartedAt, l.ExpiresAt, l.ClearedAt = fromTS(started), fromTS(expires), fromTS(cleared)
		out = append(out, l)
	}
	return out, mapErr(rows.Err(), "list lockouts")
}

// ClearLockout implements store.Lockouts. The first clear wins: an admin
// unlock followed by a password reset keeps the admin's record, and a retry
// of the same clear succeeds without rewriting it.
func (db *DB) ClearLockout(ctx context.Context, tenantID, id string, at time.Time, by, how, reason string) error {
	if at.IsZero() {
		// A zero time is stored as 0, which means "not cleared".
		return fmt.Errorf("clear lockout %s: zero clear time", id)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE lockouts SET cleared_at = ?, cleared_by = ?, cleared_how = ?,
			clear_reason = ? WHERE tenant_id = ? AND id = ? AND cleared_at = 0`, ts(at), by, how, reason, tenantID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		// Nothing updated: already cleared (fine) or no such lockout.
		var one int
		return tx.QueryRowContext(ctx, `SELECT 1 FROM lockouts WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&one)
	})
	return mapErr(err, "clear lockout "+id)
}

// GetLockoutPolicy implements store.LockoutPolicies.
func (db *DB) GetLockoutPolicy(ctx context.Context, tenantID string) (store.LockoutPolicy, error) {
	var p store.LockoutPolicy
	var dur, maxDur, window int64
	err := db.read.QueryRowContext(ctx, `SELECT threshold, duration_ns, max_duration_ns, observation_window_ns,
		familiar_network_days, device_cookie_threshold FROM tenant_lockout_policies WHERE tenant_id = ?`, tenantID).
		Scan(&p.Threshold, &dur, &maxDur, &window, &p.FamiliarNetworkDays, &p.DeviceCookieThreshold)
	p.Duration, p.MaxDuration, p.ObservationWindow = time.Duration(dur), time.Duration(maxDur), time.Duration(window)
	return p, mapErr(err, "get lockout policy")
}

// SetLockoutPolicy implements store.LockoutPolicies. The foreign key to
// tenants turns a policy for an unknown tenant into ErrNotFound.
func (db *DB) SetLockoutPolicy(ctx context.Context, tenantID string, p store.LockoutPolicy) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error { return upsertLockoutPolicy(ctx, tx, tenantID, p) })
	return mapErr(foreignKeyNotFound(err), "set lockout policy of tenant "+tenantID)
}

// UpdateLockoutPolicy implements store.LockoutPolicies: the read happens
// in the write transaction, which SQLite runs one at a time.
func (db *DB) UpdateLockoutPolicy(ctx context.Context, tenantID string,
	update func(current store.LockoutPolicy, found bool) (store.LockoutPolicy, error)) (store.LockoutPolicy, error) {
	var next store.LockoutPolicy
	var updateErr error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var cur store.LockoutPolicy
		var dur, maxDur, window int64
		err := tx.QueryRowContext(ctx, `SELECT threshold, duration_ns, max_duration_ns, observation_window_ns,
			familiar_network_days, device_cookie_threshold FROM tenant_lockout_policies WHERE tenant_id = ?`, tenantID).
			Scan(&cur.Threshold, &dur, &maxDur, &window, &cur.FamiliarNetworkDays, &cur.DeviceCookieThreshold)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		cur.Duration, cur.MaxDuration, cur.ObservationWindow = time.Duration(dur), time.Duration(maxDur), time.Duration(window)
		if next, updateErr = update(cur, err == nil); updateErr != nil {
			return updateErr
		}
		return upsertLockoutPolicy(ctx, tx, tenantID, next)
	})
	if updateErr != nil {
		return store.LockoutPolicy{}, updateErr
	}
	if err != nil {
		return store.LockoutPolicy{}, mapErr(foreignKeyNotFound(err), "update lockout policy of tenant "+tenantID)
	}
	return next, nil
}

func upsertLockoutPolicy(ctx context.Context, tx *sql.Tx, tenantID string, p store.LockoutPolicy) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tenant_lockout_policies(tenant_id, threshold, duration_ns,
		max_duration_ns, observation_window_ns, familiar_network_days, device_cookie_threshold)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(tenant_id) DO UPDATE SET threshold = excluded.threshold, duration_ns = excluded.duration_ns,
			max_duration_ns = excluded.max_duration_ns, observation_window_ns = excluded.observation_window_ns,
			familiar_network_days = excluded.familiar_network_days,
			device_cookie_threshold = excluded.device_cookie_threshold`,
		tenantID, p.Threshold, int64(p.Duration), int64(p.MaxDuration), int64(p.ObservationWindow),
		p.FamiliarNetworkDays, p.DeviceCookieThreshold)
	return err
}

// foreignKeyNotFound reports a foreign key violation as ErrNotFound: the
// referenced record (here the tenant) does not exist. It is local rather
// than part of mapErr so existing callers keep their error behaviour.
func foreignKeyNotFound(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY || pgErrorCode(err) == "23503" {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

// TouchNetwork implements store.FamiliarNetworks. It keeps the latest
// time, so a delayed or replayed older success never ages a network.
func (db *DB) TouchNetwork(ctx context.Context, tenantID, userID, prefix string, at time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.txExec(ctx, tx, touchNetworkSQL, tenantID, userID, prefix, ts(at))
		return err
	})
	return mapErr(err, "touch network")
}

// NetworkLastSuccess implements store.FamiliarNetworks; an unknown network
// is the zero time, not an error, since "never seen" is the common answer.
func (db *DB) NetworkLastSuccess(ctx context.Context, tenantID, userID, prefix string) (time.Time, error) {
	var at int64
	err := db.read.QueryRowContext(ctx, `SELECT last_success_at FROM user_networks
		WHERE tenant_id = ? AND user_id = ? AND prefix = ?`, tenantID, userID, prefix).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, mapErr(err, "network last success")
	}
	return fromTS(at), nil
}

// RecentNetworks implements store.FamiliarNetworks.
func (db *DB) RecentNetworks(ctx context.Context, tenantID, userID string, since time.Time, limit int) ([]store.NetworkUse, error) {
	rows, err := db.query(ctx, `SELECT prefix, last_success_at FROM user_networks
		WHERE tenant_id = ? AND user_id = ? AND last_success_at >= ?
		ORDER BY last_success_at DESC, prefix LIMIT ?`, tenantID, userID, ts(since), max(limit, 0))
	if err != nil {
		return nil, mapErr(err, "recent networks")
	}
	defer rows.Close()
	var out []store.NetworkUse
	for rows.Next() {
		var n store.NetworkUse
		var at int64
		if err := rows.Scan(&n.Prefix, &at); err != nil {
			return nil, mapErr(err, "recent networks")
		}
		n.LastSuccess = fromTS(at)
		out = append(out, n)
	}
	return out, mapErr(rows.Err(), "recent networks")
}
