// Package sqlstore implements the store contracts on SQLite (the embedded
// default) and on PostgreSQL (postgres.go). On SQLite, writes go through one connection opened with BEGIN IMMEDIATE, so
// writers queue in Go instead of failing with SQLITE_BUSY; reads use a separate
// pool and see WAL snapshots. synchronous=FULL makes every commit durable
// before it returns, which is what lets the sign-in log promise that a
// response was logged.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/portcullis-idp/portcullis/internal/store"
)

//go:embed migrations/sqlite/*.sql
var migrations embed.FS

// DB is the SQLite backend. It implements store.Store.
type DB struct {
	write *sql.DB // one connection: SQLite has one writer anyway
	read  *sql.DB
	// relaxed: ordinary commits skip fsync; the sign-in log's group commit
	// still syncs, and since the WAL is sequential that sync also makes every
	// earlier commit durable. See Relax.
	relaxed bool

	readStmts, writeStmts *preparedStatements // hot-path queries (prepared.go)

	// ipPending counts sign-in records appended since the address index
	// was last brought up to date (signinip.go); a hint, the watermark in
	// the database is the truth.
	ipPending atomic.Int64

	// pg: the database is PostgreSQL (postgres.go); read and write are
	// then one pool. partitions remembers the log partitions known to
	// exist (partitions.go).
	pg         bool
	partitions sync.Map
	path       string // the SQLite database file
}

var _ store.Store = (*DB)(nil)

// FileName is the database file inside a data directory.
const FileName = "portcullis.db"

// Open opens (creating if needed) the database file at path and runs pending
// migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	// Owner-only from the start: SQLite gives the -wal and -shm files the
	// database file's permissions, and all three hold password hashes,
	// signing keys and the sign-in log.
	if err := restrictFiles(path); err != nil {
		return nil, err
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas()
	write, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	db := &DB{path: path, write: write, read: read, readStmts: newPreparedStatements(read), writeStmts: newPreparedStatements(write)}
	// Processes opening a new directory together migrate one at a time:
	// goose has no lock of its own on SQLite.
	if err := db.Exclusive(ctx, "migrate", func() error { return db.migrate(ctx) }); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.writeStmts.prepareAll(ctx, preparedWrites...); err != nil {
		db.Close()
		return nil, err
	}
	var backlog int64
	if err := db.read.QueryRowContext(ctx, `SELECT coalesce((SELECT max(rowid) FROM signins), 0) -
		(SELECT indexed_upto FROM signin_ip_index_state)`).Scan(&backlog); err != nil {
		db.Close()
		return nil, fmt.Errorf("read the sign-in address index state: %w", err)
	}
	db.ipPending.Store(backlog)
	if err := restrictFiles(path); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// restrictFiles creates the database file if needed and makes it, and any
// WAL companion files, readable by the owner only.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restrict %s: %w", p, err)
		}
	}
	return nil
}

func pragmas() string {
	v := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		v.Add("_pragma", p)
	}
	return v.Encode()
}

func (db *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/sqlite")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.write, sub)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Relax switches ordinary commits to synchronous=NORMAL: they survive a
// process crash at once, and a power loss from the next sign-in log commit
// on, which syncs the whole WAL before any response is sent. The server uses
// it so that recording a failed password costs no fsync of its own (an fsync
// only real accounts paid would tell them apart from unknown names by
// timing). Offline commands keep FULL.
func (db *DB) Relax(ctx context.Context) error {
	if db.pg { // every PostgreSQL commit is durable (synchronous_commit)
		return nil
	}
	if _, err := db.write.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return fmt.Errorf("relax synchronous: %w", err)
	}
	db.relaxed = true
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	if db.pg {
		return db.write.Close()
	}
	db.readStmts.close()
	db.writeStmts.close()
	return errors.Join(db.read.Close(), db.write.Close())
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it.
// On PostgreSQL the transaction is SERIALIZABLE and fn may run again after
// a serialization failure, so fn must act only through tx.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.pg {
		return db.inTxPostgres(ctx, fn)
	}
	return db.runTx(ctx, nil, fn)
}

// runTx is one attempt: begin with opts, fn, commit (or roll back on
// fn's error).
func (db *DB) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// mapErr turns driver errors into store sentinels.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w: %v", what, store.ErrConflict, err)
		}
	}
	if pgErrorCode(err) == "23505" { // unique_violation
		return fmt.Errorf("%s: %w: %v", what, store.ErrConflict, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Times are stored as Unix microseconds; zero means "unset".
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func joinList(s []string) string { return strings.Join(s, "\n") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Secret implements store.Secrets.
func (db *DB) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := db.read.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(err, "read secret")
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("generate secret %s: %w", name, err)
	}
	// Insert unless present, then read back: two processes racing agree on
	// one value.
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets(name, value) VALUES (?, ?)
			ON CONFLICT(name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	})
	return v, mapErr(err, "store secret")
}

// Ping checks that the database answers (readiness).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, `SELECT 1 FROM tenants LIMIT 1`).Scan(&one); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}
