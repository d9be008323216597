package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// preparedStatements caches prepared statements for the fixed queries on a
// sign-in's path. Parsing and planning SQL is about 1.5% of the CPU of a
// successful password sign-in when every query is prepared afresh. Only
// constant query texts belong here: the cache is never pruned, so queries
// built from user input (sign-in log filters) must not use it.
type preparedStatements struct {
	pool *sql.DB
	mu   sync.Mutex
	byQ  map[string]*sql.Stmt
}

func newPreparedStatements(pool *sql.DB) *preparedStatements {
	return &preparedStatements{pool: pool, byQ: map[string]*sql.Stmt{}}
}

// get returns the statement for q, preparing it on first use. database/sql
// prepares it again on each pooled connection as needed.
func (p *preparedStatements) get(ctx context.Context, q string) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.byQ[q]; s != nil {
		return s, nil
	}
	s, err := p.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	p.byQ[q] = s
	return s, nil
}

// prepared returns the statement for q if it has been prepared, else nil.
func (p *preparedStatements) prepared(q string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byQ[q]
}

func (p *preparedStatements) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, s := range p.byQ {
		_ = s.Close()
		delete(p.byQ, q)
	}
}

// queryRow runs a cached read query that returns at most one row.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if db.pg { // pgx caches prepared statements per connection itself
		return db.read.QueryRowContext(ctx, q, args...)
	}
	s, err := db.readStmts.get(ctx, q)
	if err != nil {
		// database/sql offers no way to build a Row carrying an error; the
		// uncached query reports the same preparation error through Scan.
		return db.read.QueryRowContext(ctx, q, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// query runs a cached read query.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if db.pg {
		return db.read.QueryContext(ctx, q, args...)
	}
	s, err := db.readStmts.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// Write statements on a sign-in's path. They are prepared when the
// database opens: preparing one later would need the single write
// connection, which the transaction that wants it is holding.
const (
	insertBudgetSQL = `INSERT INTO budgets(` + budgetColumns + `)
		VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)`
	updateBudgetSQL = `UPDATE budgets SET version = version + 1, failures = ?,
		locked_until = ?, locked_at = ?, lockouts = ?, lockout_id = ?, typos = ?, updated_at = ?
		WHERE tenant_id = ? AND subject = ? AND class = ? AND scope = ? AND version = ?`
	touchNetworkSQL = `INSERT INTO user_networks(tenant_id, user_id, prefix, last_success_at)
		VALUES (?, ?, ?, ?) ON CONFLICT(tenant_id, user_id, prefix)
		DO UPDATE SET last_success_at = CASE WHEN excluded.last_success_at > user_networks.last_success_at
			THEN excluded.last_success_at ELSE user_networks.last_success_at END`
	insertRefreshTokenSQL = `INSERT INTO refresh_tokens(id, hash, family_id, tenant_id, user_id, client_id,
		scopes, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

var preparedWrites = []string{insertBudgetSQL, updateBudgetSQL, touchNetworkSQL, insertRefreshTokenSQL}

// prepareAll prepares qs now (see preparedWrites).
func (p *preparedStatements) prepareAll(ctx context.Context, qs ...string) error {
	for _, q := range qs {
		if _, err := p.get(ctx, q); err != nil {
			return fmt.Errorf("prepare %.40q: %w", q, err)
		}
	}
	return nil
}

// txExec runs one of preparedWrites inside tx.
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if db.pg {
		return tx.ExecContext(ctx, q, args...)
	}
	s := db.writeStmts.prepared(q)
	if s == nil { // not in preparedWrites: run it unprepared rather than deadlock
		return tx.ExecContext(ctx, q, args...)
	}
	return tx.StmtContext(ctx, s).ExecContext(ctx, args...)
}
