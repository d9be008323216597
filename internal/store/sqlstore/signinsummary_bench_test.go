package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
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
			loadSummaryDay(b, db, n, now)
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

// loadSummaryDay writes n records over the last 24 hours: 10,000 user
// names, addresses at random, the usual mix of codes.
func loadSummaryDay(b *testing.B, db *sqlstore.DB, n int, now time.Time) {
	b.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	codes := []int{50126, 50126, 50126, 50053, 0, 0, 50034, 50076}
	const batch = 5000
	for i := 0; i < n; i += batch {
		rows := make([]store.SignInRow, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			at := now.Add(-24*time.Hour + time.Duration(float64(24*time.Hour)*float64(j)/float64(n)))
			user := rng.IntN(10000)
			rows = append(rows, store.SignInRow{ID: fmt.Sprintf("%016x-%08d", at.UnixMicro(), j), CreatedAt: at, TenantID: "t",
				UserID: fmt.Sprint("u", user), UPN: fmt.Sprintf("user%d@contoso.com", user), AppID: "app",
				IPAddress:     fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256)),
				ErrorCode:     codes[rng.IntN(len(codes))],
				CorrelationID: fmt.Sprint("c", j), Body: []byte(`{}`)})
		}
		if err := db.AppendSignIns(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	}
}
