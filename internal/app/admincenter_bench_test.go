package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// BenchmarkAdminCenterPages measures the console's pages, server side
// (request to last byte over loopback, the in-process API calls included),
// over a sign-in log (SQLite) whose last 24 hours hold PORTCULLIS_BENCH_CONSOLE_SIGNINS
// records (default 200,000: a day under a modest password spray):
//
//	go test ./internal/app -run '^$' -bench AdminCenterPages -benchtime 20x
func BenchmarkAdminCenterPages(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("PORTCULLIS_BENCH_CONSOLE_SIGNINS")); err == nil && v > 0 {
		n = v
	}
	ts := startServer(b, nil)
	now := time.Now()
	loadDay(b, ts, n, now)
	br := newBrowser(b, "")
	if p := adminSignIn(b, ts, br, "/admin/", "admin@contoso.test", adminPassword); p.status != http.StatusOK {
		b.Fatalf("sign-in: %d", p.status)
	}
	pages := []struct{ name, path string }{
		{"overview", "/admin/"},
		{"signins", "/admin/signins"},
		{"signins-user-50053", "/admin/signins?user=user42%40contoso.test&errorCode=50053"},
		{"signins-ip-prefix", "/admin/signins?ip=203.0.113."},
		{"users-search", "/admin/users?q=alice"},
		{"audits", "/admin/audits"},
	}
	// The overview's summary is cached for half a minute, so after the
	// first view it costs little; this is the scan the first view pays.
	b.Run("overview-summary-scan", func(b *testing.B) {
		q := store.SignInSummaryQuery{TenantID: ts.tenant.ID, Since: now.Add(-24 * time.Hour), Until: now.Add(time.Hour),
			Bucket: time.Hour, TopAddresses: 5}
		for b.Loop() {
			if _, err := ts.srv.Store().SummarizeSignIns(context.Background(), q); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, pg := range pages {
		b.Run(pg.name, func(b *testing.B) {
			for b.Loop() {
				if p := br.do("GET", ts.base+pg.path, nil); p.status != http.StatusOK {
					b.Fatalf("%s: %d", pg.path, p.status)
				}
			}
		})
	}
}

// loadDay writes n failed and successful sign-ins spread over the last 24
// hours, from many addresses and 10,000 user names, as the log holds them.
func loadDay(b *testing.B, ts *testServer, n int, now time.Time) {
	b.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	codes := []int{50126, 50126, 50126, 50053, 0, 0, 50034, 90055}
	const batch = 5000
	for i := 0; i < n; i += batch {
		rows := make([]store.SignInRow, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			at := now.Add(-24*time.Hour + time.Duration(float64(24*time.Hour)*float64(j)/float64(n)))
			ip := fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256))
			if rng.IntN(1000) == 0 {
				ip = fmt.Sprintf("203.0.113.%d", rng.IntN(256))
			}
			user, code := rng.IntN(10000), codes[rng.IntN(len(codes))]
			id := fmt.Sprintf("%016x-%08d", at.UnixMicro(), j)
			upn := fmt.Sprintf("user%d@contoso.test", user)
			body, _ := json.Marshal(map[string]any{"id": id, "createdDateTime": at.UTC().Format(time.RFC3339Nano),
				"userPrincipalName": upn, "userId": fmt.Sprint("u", user), "appDisplayName": "Bench", "ipAddress": ip,
				"status": map[string]any{"errorCode": code}})
			rows = append(rows, store.SignInRow{ID: id, CreatedAt: at, TenantID: ts.tenant.ID, UserID: fmt.Sprint("u", user),
				UPN: upn, AppID: "app", IPAddress: ip, ErrorCode: code, CorrelationID: fmt.Sprint("c", j), Body: body})
		}
		if err := ts.srv.Store().AppendSignIns(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	}
}
