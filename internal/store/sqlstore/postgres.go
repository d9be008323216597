package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// PostgreSQL support. The same store code runs on both databases: queries
// are written with SQLite's "?" placeholders and rewritten to PostgreSQL's
// "$n" by the driver wrapper below, and the few places where the databases
// differ (index hints, JSON paths, the sign-in log's address index,
// partitions, durability pragmas) branch on DB.pg.
//
// Write transactions run SERIALIZABLE and are retried on a serialization
// failure, which gives the store the guarantee SQLite's single writer
// gives it: a read-modify-write transaction behaves as if it ran alone,
// whichever instance runs it.

//go:embed migrations/postgres/*.sql
var pgMigrations embed.FS

// pgMaxConns bounds each instance's connections; PostgreSQL's default
// max_connections is 100, so three instances fit with room for admin tools.
const pgMaxConns = 16

// OpenPostgres connects to the PostgreSQL database at dsn (a URL or
// key=value string, as libpq accepts) and runs pending migrations under an
// advisory lock, so instances starting together migrate once.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		// Without a bound, a database host that drops packets holds every
		// sign-in for the kernel's TCP timeout (minutes) instead of failing.
		cfg.ConnectTimeout = 5 * time.Second
	}
	pool := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	pool.SetMaxOpenConns(pgMaxConns)
	pool.SetMaxIdleConns(pgMaxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{write: pool, read: pool, pg: true}
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	if err := db.migratePostgres(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := db.ensurePartitions(ctx, time.Now()); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) migratePostgres(ctx context.Context) error {
	sub, err := fs.Sub(pgMigrations, "migrations/postgres")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.write, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Postgres reports whether the store runs on PostgreSQL.
func (db *DB) Postgres() bool { return db.pg }

// maxTxAttempts bounds the retries of a serialization failure; each retry
// waits a little longer, with jitter, so contending instances spread out.
const maxTxAttempts = 12

// inTxPostgres is inTx on PostgreSQL: SERIALIZABLE, retried on a
// serialization failure or deadlock. fn must only act through tx, since it
// may run more than once.
func (db *DB) inTxPostgres(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := range maxTxAttempts {
		if attempt > 0 {
			backoff := time.Duration(attempt*attempt)*time.Millisecond + rand.N(2*time.Millisecond)
			select {
			case <-ctx.Done():
				return fmt.Errorf("begin: %w", ctx.Err())
			case <-time.After(backoff):
			}
		}
		err = db.attemptTx(ctx, fn)
		if !retryable(err) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d serialization failures: %w", maxTxAttempts, err)
}

// attemptTx is one SERIALIZABLE attempt of a transaction.
func (db *DB) attemptTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.runTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable}, fn)
}

// retryable reports a serialization failure or a deadlock: the transaction
// did nothing and may simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// pgErrorCode is the SQLSTATE of a PostgreSQL error, "" for others.
func pgErrorCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// rebindConnector hands out connections that rewrite placeholders.
type rebindConnector struct{ inner driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &rebindConn{conn.(*stdlib.Conn)}, nil
}

func (c rebindConnector) Driver() driver.Driver { return c.inner.Driver() }

// rebindConn is pgx's database/sql connection with every query text passed
// through rebind; everything else (transactions, pings, session reset,
// value checks) is pgx's own.
type rebindConn struct{ *stdlib.Conn }

func (c *rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c *rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// rebind rewrites "?" placeholders to "$1", "$2"… and "?N" to "$N",
// outside string literals, quoted identifiers and comments.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '?' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9':
			b.WriteByte('$') // SQLite's numbered "?N" is PostgreSQL's "$N"
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
