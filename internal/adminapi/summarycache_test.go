package adminapi

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestSummaryCacheSharesAndExpires: eight requests for one span while it is
// being computed share one scan; a request within the TTL is served the
// same summary; one after it computes anew; another span is its own entry;
// a failed scan is not kept.
func TestSummaryCacheSharesAndExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newSummaryCache()
		var scans atomic.Int32
		release := make(chan struct{})
		compute := func(ctx context.Context, q store.SignInSummaryQuery) (store.SignInSummary, error) {
			n := scans.Add(1)
			<-release
			return store.SignInSummary{Codes: map[int]int64{0: int64(n)}}, nil
		}
		now := time.Now()
		q := store.SignInSummaryQuery{TenantID: "t", Since: now.Add(-time.Hour), Until: now, Bucket: time.Hour}
		var wg sync.WaitGroup
		results := make([]int64, 8)
		for i := range results {
			wg.Go(func() {
				sum, _, err := c.get(t.Context(), q, now, compute)
				if err != nil {
					t.Error(err)
				}
				results[i] = sum.Codes[0]
			})
		}
		synctest.Wait() // all eight are waiting on the one scan
		close(release)
		wg.Wait()
		if scans.Load() != 1 {
			t.Fatalf("%d scans for eight concurrent requests", scans.Load())
		}
		for i, r := range results {
			if r != 1 {
				t.Fatalf("request %d got summary %d", i, r)
			}
		}
		if sum, asOf, _ := c.get(t.Context(), q, now.Add(summaryTTL-time.Second), compute); sum.Codes[0] != 1 || !asOf.Equal(now) {
			t.Fatalf("within the TTL: summary %d as of %v", sum.Codes[0], asOf)
		}
		if sum, _, _ := c.get(t.Context(), q, now.Add(summaryTTL), compute); sum.Codes[0] != 2 {
			t.Fatalf("after the TTL: summary %d, want a new scan", sum.Codes[0])
		}
		other := q
		other.TopAddresses = 5
		if sum, _, _ := c.get(t.Context(), other, now.Add(summaryTTL), compute); sum.Codes[0] != 3 {
			t.Fatalf("another span: summary %d, want its own scan", sum.Codes[0])
		}
		failing := func(context.Context, store.SignInSummaryQuery) (store.SignInSummary, error) {
			return store.SignInSummary{}, errors.New("database gone")
		}
		third := q
		third.Bucket = time.Minute
		if _, _, err := c.get(t.Context(), third, now, failing); err == nil {
			t.Fatal("a failed scan answered")
		}
		if sum, _, _ := c.get(t.Context(), third, now, compute); sum.Codes[0] != 4 {
			t.Fatalf("after a failed scan: summary %d, want a new scan", sum.Codes[0])
		}
	})
}

// TestSummaryCacheBoundsScans: however many different spans are asked for
// at once, one scan runs at a time; the next 16 wait their turn, and the
// rest are refused as busy at once rather than queued; a scan left
// waiting a minute gives up as busy too.
func TestSummaryCacheBoundsScans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newSummaryCache()
		release := make(chan struct{})
		var running, most atomic.Int32
		compute := func(ctx context.Context, q store.SignInSummaryQuery) (store.SignInSummary, error) {
			n := running.Add(1)
			if n > most.Load() {
				most.Store(n)
			}
			<-release
			running.Add(-1)
			return store.SignInSummary{}, nil
		}
		now := time.Now()
		span := func(i int) store.SignInSummaryQuery {
			return store.SignInSummaryQuery{TenantID: "t", Since: now.Add(-time.Duration(i+1) * time.Hour), Until: now, Bucket: time.Hour}
		}
		var wg sync.WaitGroup
		var busy atomic.Int32
		for i := range 1 + maxSummaryWaiters + 3 {
			wg.Go(func() {
				if _, _, err := c.get(t.Context(), span(i), now, compute); errors.Is(err, errSummaryBusy) {
					busy.Add(1)
				} else if err != nil {
					t.Error(err)
				}
			})
			synctest.Wait()
		}
		if busy.Load() != 3 || running.Load() != 1 {
			t.Fatalf("%d refused as busy, %d scans running; want 3 and 1", busy.Load(), running.Load())
		}
		close(release)
		wg.Wait()
		if most.Load() != 1 {
			t.Fatalf("%d scans ran at once", most.Load())
		}

		// A scan that never finishes: the next waits a minute, then is busy.
		stuck := make(chan struct{})
		go c.get(t.Context(), span(100), now, func(context.Context, store.SignInSummaryQuery) (store.SignInSummary, error) {
			<-stuck
			return store.SignInSummary{}, nil
		})
		synctest.Wait()
		start := time.Now()
		if _, _, err := c.get(t.Context(), span(101), now, compute); !errors.Is(err, errSummaryBusy) || time.Since(start) != time.Minute {
			t.Fatalf("behind a stuck scan: %v after %v", err, time.Since(start))
		}
		close(stuck)
	})
}
