package sqlstore_test

import (
	"context"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
	"github.com/portcullis-idp/portcullis/internal/store/storetest"
	"github.com/portcullis-idp/portcullis/internal/testsvc"
)

func openPostgres(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), testsvc.Postgres(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostgresConformance runs the suites SQLite passes, unchanged.
func TestPostgresConformance(t *testing.T) {
	testsvc.PostgresServer(t)
	storetest.RunAll(t, func(t *testing.T) store.Store { return openPostgres(t) })
}
