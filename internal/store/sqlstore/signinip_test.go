package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

func signInRows(from, n int, at time.Time, ip func(i int) string) []store.SignInRow {
	rows := make([]store.SignInRow, 0, n)
	for i := from; i < from+n; i++ {
		rows = append(rows, store.SignInRow{ID: fmt.Sprintf("%08d", i), CreatedAt: at.Add(time.Duration(i) * time.Millisecond),
			TenantID: "t", IPAddress: ip(i), CorrelationID: fmt.Sprint(i), Body: []byte(`{}`)})
	}
	return rows
}

func countByAddress(t *testing.T, db *sqlstore.DB, filter string) int {
	t.Helper()
	where, err := odata.Parse(filter, store.SignInSchema)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.FindSignIns(context.Background(), store.SignInFilter{TenantID: "t", Where: where, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.CountSignIns(context.Background(), "t", where)
	if err != nil || n != int64(len(got)) {
		t.Fatalf("%s: count %d (%v), but %d found", filter, n, err, len(got))
	}
	return len(got)
}

// TestAddressIndexSurvivesAnEmptiedLog: retention never empties the log, so
// the rowids of new records stay above the address index's watermark and
// the records stay findable by address (with an emptied table SQLite would
// start rowids at 1 again, below the watermark, and address queries would
// miss every new record).
func TestAddressIndexSurvivesAnEmptiedLog(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), sqlstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5000; i += 500 {
		if err := db.AppendSignIns(ctx, signInRows(i, 500, old, func(int) string { return "198.51.100.1" })); err != nil {
			t.Fatal(err)
		}
	}
	for {
		n, err := db.PruneSignIns(ctx, "t", time.Now(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n < 1000 {
			break
		}
	}
	if err := db.AppendSignIns(ctx, signInRows(5000, 10, time.Now(), func(i int) string { return fmt.Sprintf("192.0.2.%d", i%256) })); err != nil {
		t.Fatal(err)
	}
	if n := countByAddress(t, db, "startswith(ipAddress, '192.0.2.')"); n != 10 {
		t.Fatalf("new records found by address after the log was pruned: %d, want 10", n)
	}
	if n := countByAddress(t, db, "ipAddress eq '198.51.100.1'"); n != 1 {
		t.Fatalf("old records left: %d, want the newest one only", n)
	}
}

// TestIndexSignInsWorksOffABacklog: IndexSignIns indexes at most its limit
// per call, and queries are right at every step of the way.
func TestIndexSignInsWorksOffABacklog(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), sqlstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AppendSignIns(ctx, signInRows(0, 10, time.Now(), func(i int) string { return fmt.Sprintf("203.0.113.%d", i) })); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{4, 4, 2, 0} {
		n, err := db.IndexSignIns(ctx, 4)
		if err != nil || n != want {
			t.Fatalf("IndexSignIns = %d, %v; want %d", n, err, want)
		}
		if got := countByAddress(t, db, "startswith(ipAddress, '203.0.113.')"); got != 10 {
			t.Fatalf("after indexing %d: %d records found, want 10", want, got)
		}
	}
}
