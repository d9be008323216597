package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
	"github.com/portcullis-idp/portcullis/internal/store/storetest"
	"github.com/portcullis-idp/portcullis/internal/testsvc"
)

// BenchmarkSignInSummary times one summary of a day (24 hourly buckets,
// codes, top 5 failing addresses) over PORTCULLIS_BENCH_SUMMARY_SIGNINS
// records (default 200,000) on SQLite and, when it is reachable, on
// PostgreSQL:
//
//	go test ./internal/store/sqlstore -run '^$' -bench SignInSummary -benchtime 10x
func BenchmarkSignInSummary(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("PORTCULLIS_BENCH_SUMMARY_SIGNINS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	backends := map[string]func(b *testing.B) *sqlstore.DB{
		"sqlite": func(b *testing.B) *sqlstore.DB {
			db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "summary.db"))
			if err != nil {
				b.Fatal(err)
			}
			return db
		},
		"postgres": func(b *testing.B) *sqlstore.DB {
			db, err := sqlstore.OpenPostgres(ctx, testsvc.Postgres(b))
			if err != nil {
				b.Fatal(err)
			}
			return db
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			db := backends[name](b)
			defer db.Close()
			now := time.Now()
			if err := storetest.LoadDay(ctx, db, "t", n, now); err != nil {
				b.Fatal(err)
			}
			q := store.SignInSummaryQuery{TenantID: "t", Since: now.Add(-24 * time.Hour).Truncate(time.Hour),
				Until: now.Truncate(time.Hour).Add(time.Hour), Bucket: time.Hour, TopAddresses: 5, Interrupted: []int{50076}}
			for b.Loop() {
				if _, err := db.SummarizeSignIns(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
