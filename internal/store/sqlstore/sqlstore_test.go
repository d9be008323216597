package sqlstore_test

import (
	"context"
	"os"
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

// TestFilesAreOwnerOnly: the database and its WAL files hold hashes, keys and
// the sign-in log.
func TestFilesAreOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlstore.FileName)
	db, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.UpdateBannedPasswordTerms(context.Background(), "nope",
		func([]string) ([]string, error) { return nil, nil }); err == nil {
		t.Fatal("write to an unknown tenant succeeded")
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", p, mode)
		}
	}
}
