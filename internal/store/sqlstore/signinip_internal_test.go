package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestPruneRemovesAddressIndexEntries: retention removes the address index
// entries of the records it deletes, and only those (the index has no
// tenant: another tenant's old records keep theirs until pruned).
func TestPruneRemovesAddressIndexEntries(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []store.SignInRow
	for i := range 300 {
		tenant := []string{"a", "b", "c"}[i%3]
		at := old.Add(time.Duration(i) * time.Minute)
		rows = append(rows, store.SignInRow{ID: fmt.Sprintf("%04d", i), CreatedAt: at, TenantID: tenant,
			IPAddress: fmt.Sprintf("%d.0.0.1", i%256), Body: []byte(`{}`)})
	}
	if err := db.AppendSignIns(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if n, err := db.IndexSignIns(ctx, 1000); err != nil || n != 300 {
		t.Fatalf("IndexSignIns = %d, %v", n, err)
	}
	entries := func() (n int) {
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM signin_ip_index`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	cutoff := old.Add(150 * time.Minute) // records 0-149 are past it: 50 per tenant
	if n, err := db.PruneSignIns(ctx, "a", cutoff, 1000); err != nil || n != 50 {
		t.Fatalf("PruneSignIns(a) = %d, %v", n, err)
	}
	if got := entries(); got != 250 {
		t.Fatalf("index entries after pruning tenant a: %d, want 250", got)
	}
	for _, tenant := range []string{"b", "c"} {
		if _, err := db.PruneSignIns(ctx, tenant, cutoff, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if got := entries(); got != 150 {
		t.Fatalf("index entries after pruning every tenant: %d, want 150", got)
	}
}
