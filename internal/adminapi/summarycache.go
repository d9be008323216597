package adminapi

import (
	"context"
	"fmt"
	"sync"
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

// summaryCache serves recent summaries and lets concurrent requests for the
// same span share one computation.
type summaryCache struct {
	mu      sync.Mutex
	entries map[string]cachedSummary
	flight  singleflight.Group
}

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
			clear(c.entries)
		}
	}
	c.entries[key] = e
}
