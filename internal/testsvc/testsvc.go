// Package testsvc gives integration tests the real services they run
// against. A test asking for a service that is not there is skipped on a
// developer's machine and fails under CI=true, where .ci/run provides it.
// TEST_POSTGRES_DSN and TEST_REDIS_URL name other servers than the
// defaults (not PORTCULLIS_*: the server rejects unknown keys there).
package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// DefaultPostgres is the test PostgreSQL unless TEST_POSTGRES_DSN
// names another.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresServer is the test server's DSN, after checking that it answers.
func PostgresServer(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = DefaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		unavailable(t, "PostgreSQL at "+redact(dsn), err)
	}
	conn.Close(ctx)
	return dsn
}

// Postgres is a DSN for an empty schema of its own on the test server, so
// tests can run side by side; the schema is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := PostgresServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "portcullis_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(dsn, schema)
}

// DefaultRedis is the test Redis unless TEST_REDIS_URL names another.
const DefaultRedis = "redis://127.0.0.1:6379/0"

// Redis is the test Redis's URL, after checking that it answers PING.
func Redis(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = DefaultRedis
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		unavailable(t, "Redis at "+redact(u), err)
	}
	return u
}

// WithSearchPath adds search_path=schema to a URL-form DSN.
func WithSearchPath(dsn, schema string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + url.QueryEscape(schema)
}

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %v (CI=true: .ci/run provides it)", what, err)
	}
	t.Skipf("no %s: %v", what, err)
}

// redact hides a password in a URL-form DSN.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
