package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
	"github.com/portcullis-idp/portcullis/internal/store/storetest"
)

func TestSQLiteConformance(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) store.Store {
		db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), sqlstore.FileName))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
