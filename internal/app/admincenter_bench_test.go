package app_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/storetest"
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
	if err := storetest.LoadDay(context.Background(), ts.srv.Store(), ts.tenant.ID, n, now); err != nil {
		b.Fatal(err)
	}
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
