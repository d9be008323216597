package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// BenchmarkSignInQueries loads a sign-in log (PORTCULLIS_BENCH_SIGNINS
// records, default 1,000,000, over 30 days, 10,000 users, mostly failures
// from random addresses as under attack) and reports the p95 latency of the
// first page of the troubleshooting queries and of a 24-hour failure count.
// The targets are stated for 10,000,000 records.
func BenchmarkSignInQueries(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PORTCULLIS_BENCH_SIGNINS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	// PORTCULLIS_BENCH_SIGNINS_DB reuses (or keeps) a loaded log: loading
	// 10,000,000 records takes about ten minutes.
	path := os.Getenv("PORTCULLIS_BENCH_SIGNINS_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	_, statErr := os.Stat(path)
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	if statErr == nil {
		var newest int64
		if err := db.read.QueryRowContext(ctx, `SELECT max(created_at) FROM signins`).Scan(&newest); err != nil {
			b.Fatal(err)
		}
		now = fromTS(newest)
		b.Logf("reusing %s (newest record %s)", path, now.Format(time.RFC3339))
	} else {
		load := time.Now()
		loadSignIns(b, db, n, now)
		b.Logf("loaded %d records in %s", n, time.Since(load))
	}
	queries := []struct {
		name, filter string
		count        bool
	}{
		{"user-and-50053-30d", "userPrincipalName eq 'user42@contoso.com' and status/errorCode eq 50053 and createdDateTime ge " +
			now.Add(-30*24*time.Hour).UTC().Format(time.RFC3339), false},
		{"50053-last-24h", "status/errorCode eq 50053 and createdDateTime ge " + now.Add(-24*time.Hour).UTC().Format(time.RFC3339), false},
		{"ip-prefix", "startswith(ipAddress, '203.0.113.')", false},
		{"count-failures-24h", "status/errorCode ne 0 and createdDateTime ge " + now.Add(-24*time.Hour).UTC().Format(time.RFC3339), true},
	}
	for _, q := range queries {
		where, err := odata.Parse(q.filter, store.SignInSchema)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(q.name, func(b *testing.B) {
			var samples []time.Duration
			for b.Loop() {
				start := time.Now()
				if q.count {
					_, err = db.CountSignIns(ctx, "t", where)
				} else {
					_, err = db.FindSignIns(ctx, store.SignInFilter{TenantID: "t", Where: where, Limit: 1000})
				}
				if err != nil {
					b.Fatal(err)
				}
				samples = append(samples, time.Since(start))
			}
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

func loadSignIns(b *testing.B, db *DB, n int, now time.Time) {
	rng := rand.New(rand.NewPCG(1, 2))
	codes := []int{50126, 50126, 50126, 50053, 0, 0, 50034, 90055}
	const batch = 5000
	span := 30 * 24 * time.Hour
	for i := 0; i < n; i += batch {
		rows := make([]store.SignInRow, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			at := now.Add(-span + time.Duration(float64(span)*float64(j)/float64(n)))
			ip := fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256))
			if rng.IntN(1000) == 0 {
				ip = fmt.Sprintf("203.0.113.%d", rng.IntN(256))
			}
			user := rng.IntN(10000)
			rows = append(rows, store.SignInRow{ID: fmt.Sprintf("%016x-%08d", at.UnixMicro(), j), CreatedAt: at, TenantID: "t",
				UserID: fmt.Sprint("u", user), UPN: fmt.Sprintf("user%d@contoso.com", user), AppID: "app", IPAddress: ip,
				ErrorCode: codes[rng.IntN(len(codes))], CorrelationID: fmt.Sprint("c", j), Body: []byte(`{"status":{}}`)})
		}
		if err := db.AppendSignIns(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	}
}
