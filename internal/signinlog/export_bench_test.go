package signinlog

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// BenchmarkExport exports a log of PORTCULLIS_BENCH_EXPORT records (default
// 1,000,000 full Graph records, as the server writes them) as CSV and as
// JSON, and reports records/s, seconds per export and the peak Go heap
// above the level before the export, sampled every millisecond: the
// export pages through the store, so the peak must not grow with the log.
func BenchmarkExport(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PORTCULLIS_BENCH_EXPORT")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "export.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	if err := loadExportRecords(ctx, db, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d records in %s", n, time.Since(start).Round(time.Millisecond))
	for _, format := range []string{"csv", "json"} {
		b.Run(format, func(b *testing.B) {
			var growth uint64
			for b.Loop() {
				runtime.GC()
				base := heapInUse()
				var peak uint64
				stop := sampleHeap(&peak)
				err := Export(ctx, db, store.SignInFilter{TenantID: "t"}, format, io.Discard)
				stop()
				if err != nil {
					b.Fatal(err)
				}
				growth = max(growth, peak-min(peak, base))
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/export")
			b.ReportMetric(float64(growth)/(1<<20), "peak-heap-MiB")
		})
	}
}

func loadExportRecords(ctx context.Context, db *sqlstore.DB, n int) error {
	now := time.Now().UTC()
	correct := false
	const batch = 5000
	for i := 0; i < n; i += batch {
		rows := make([]store.SignInRow, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			r := Record{ID: fmt.Sprintf("0190a0b0-0000-7000-8000-%012d", j), CreatedDateTime: now.Add(time.Duration(j-n) * time.Second),
				UserPrincipalName: fmt.Sprintf("user%d@contoso.com", j%10000), UserID: fmt.Sprintf("u%d", j%10000),
				UserDisplayName: "Some User", AppID: "8c4c9a7e-56e4-4d3b-9f0e-5f7c2d1b9a10", AppDisplayName: "Portcullis CLI",
				IPAddress: fmt.Sprintf("10.%d.%d.%d", j>>16&255, j>>8&255, j&255), ClientAppUsed: "Mobile Apps and Desktop clients",
				CorrelationID: fmt.Sprintf("c%d", j), Status: Status{ErrorCode: 50126, FailureReason: "Invalid username or password or Invalid on-premise username or password."},
				Location:               Location{City: "Redmond", State: "Washington", CountryOrRegion: "US"},
				DeviceDetail:           DeviceDetail{OperatingSystem: "Windows 10", Browser: "Edge 120.0.0"},
				UserAgent:              "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
				AuthenticationProtocol: "ropc", ProcessingTimeInMilliseconds: 31, ConditionalAccessStatus: "notApplied",
				RiskLevelDuringSignIn: "none", TenantID: "t",
				Protection: &Protection{PasswordCorrect: &correct, Decision: "verified", SourceClass: "unfamiliar", Failures: 3, Threshold: 10}}
			row, err := r.Row()
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
		if err := db.AppendSignIns(ctx, rows); err != nil {
			return err
		}
	}
	return nil
}

// heapInUse reads the live-and-unswept heap without stopping the world.
func heapInUse() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// sampleHeap records the peak heap in use into peak until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	var done atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for !done.Load() {
			*peak = max(*peak, heapInUse())
			<-t.C
		}
	}()
	return func() { done.Store(true); <-finished }
}
