package adminapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// summaryTTL is how long a summary is served again. Computing one scans
// the span (about a second per million records on SQLite): a dashboard
// that several administrators keep open during an attack must not repeat
// that scan per view, and half a minute is fresher than Entra's reports.
const summaryTTL = 30 * time.Second

// maxCachedSummaries bounds the cache (distinct spans asked for).
const maxCachedSummaries = 256

// maxSummaryWaiters bounds the requests queued for the one scan slot:
// beyond it the API answers 503 rather than holding more requests.
const maxSummaryWaiters = 16

// errSummaryBusy: too many summaries asked for at once.
var errSummaryBusy = errors.New("summaries are busy")

// summaryCache serves recent summaries and lets concurrent requests for the
// same span share one computation. One scan runs at a time per instance,
// whatever the spans asked for: a reader asking for many different spans
// queues behind it (and is refused once the queue is full) instead of
// taking every read connection of the database.
type summaryCache struct {
	mu      sync.Mutex
	entries map[string]cachedSummary
	flight  singleflight.Group
	slot    chan struct{} // one scan at a time
	waiting atomic.Int32
}

func newSummaryCache() *summaryCache { return &summaryCache{slot: make(chan struct{}, 1)} }

type cachedSummary struct {
	sum  store.SignInSummary
	asOf time.Time
}

// get answers q's summary and when it was computed: from the cache while
// fresh, else computed once for every request waiting on it.
func (c *summaryCache) get(ctx context.Context, q store.SignInSummaryQuery, now time.Time,
	compute func(context.Context, store.SignInSummaryQuery) (store.SignInSummary, error)) (store.SignInSummary, time.Time, error) {
	key := fmt.Sprintf("%s|%d|%d|%d|%d", q.TenantID, q.Since.UnixMicro(), q.Until.UnixMicro(), q.Bucket, q.TopAddresses)
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && now.Sub(e.asOf) < summaryTTL && !now.Before(e.asOf) {
		c.mu.Unlock()
		return e.sum, e.asOf, nil
	}
	c.mu.Unlock()
	v, err, _ := c.flight.Do(key, func() (any, error) {
		if c.waiting.Add(1) > maxSummaryWaiters {
			c.waiting.Add(-1)
			return nil, errSummaryBusy
		}
		// Waiting is on behalf of everyone sharing this key, so it does not
		// end when the first asker leaves; it ends after a minute.
		wait := time.NewTimer(time.Minute)
		defer wait.Stop()
		select {
		case c.slot <- struct{}{}:
			c.waiting.Add(-1)
		case <-wait.C:
			c.waiting.Add(-1)
			return nil, errSummaryBusy
		}
		defer func() { <-c.slot }()
		// The scan is shared: one caller going away must not fail the rest.
		scanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		sum, err := compute(scanCtx, q)
		if err != nil {
			return nil, err
		}
		e := cachedSummary{sum: sum, asOf: now}
		c.store(key, e, now)
		return e, nil
	})
	if err != nil {
		return store.SignInSummary{}, time.Time{}, err
	}
	e := v.(cachedSummary)
	return e.sum, e.asOf, nil
}

func (c *summaryCache) store(key string, e cachedSummary, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedSummary{}
	}
	if len(c.entries) >= maxCachedSummaries {
		for k, old := range c.entries {
			if now.Sub(old.asOf) >= summaryTTL {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedSummaries {
			return // full of fresh entries: keep them, serve this one uncached
		}
	}
	c.entries[key] = e
}
