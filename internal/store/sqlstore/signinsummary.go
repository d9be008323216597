package sqlstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// maxSummaryBuckets bounds a summary's buckets: the API's 1,000, plus the
// two that widening a span to whole intervals may add.
const maxSummaryBuckets = 1002

// SummarizeSignIns implements store.SignInSummary: two grouped scans of
// the span on the (tenant, time) index, run at once on two read
// connections: one per bucket and code, one per failing address.
func (db *DB) SummarizeSignIns(ctx context.Context, q store.SignInSummaryQuery) (store.SignInSummary, error) {
	span := q.Until.Sub(q.Since)
	if q.Bucket <= 0 || span <= 0 || span/q.Bucket > maxSummaryBuckets {
		return store.SignInSummary{}, errors.New("summarize sign-ins: a span of 1 to 1,002 buckets")
	}
	out := store.SignInSummary{Codes: map[int]int64{}}
	nBuckets := int((span + q.Bucket - 1) / q.Bucket)
	for i := range nBuckets {
		out.Buckets = append(out.Buckets, store.SignInBucket{Start: q.Since.Add(time.Duration(i) * q.Bucket)})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return db.summarizeBuckets(gctx, q, &out) })
	if q.TopAddresses > 0 {
		g.Go(func() error {
			addrs, err := db.topFailingAddresses(gctx, q)
			out.Addresses = addrs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return store.SignInSummary{}, err
	}
	return out, nil
}

// summarizeBuckets counts the span's records per bucket and error code
// into out's buckets and codes.
func (db *DB) summarizeBuckets(ctx context.Context, q store.SignInSummaryQuery, out *store.SignInSummary) error {
	since, until := ts(q.Since), ts(q.Until)
	rows, err := db.read.QueryContext(ctx, `SELECT (created_at - ?) / ?, error_code, count(*) FROM signins `+
		db.indexHint("signins_tenant_time")+` WHERE tenant_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY 1, 2`, since, q.Bucket.Microseconds(), q.TenantID, since, until)
	if err != nil {
		return mapErr(err, "summarize sign-ins")
	}
	defer rows.Close()
	for rows.Next() {
		var bucket, n int64
		var code int
		if err := rows.Scan(&bucket, &code, &n); err != nil {
			return mapErr(err, "summarize sign-ins")
		}
		if bucket < 0 || bucket >= int64(len(out.Buckets)) {
			continue
		}
		out.Buckets[bucket].Total += n
		switch {
		case code == 0:
		case slices.Contains(q.Interrupted, code):
			out.Buckets[bucket].Interrupted += n
		default:
			out.Buckets[bucket].Failures += n
		}
		out.Codes[code] += n
	}
	return mapErr(rows.Err(), "summarize sign-ins")
}

// topFailingAddresses ranks the span's addresses by failed records.
func (db *DB) topFailingAddresses(ctx context.Context, q store.SignInSummaryQuery) ([]store.AddressFailures, error) {
	args := []any{q.TenantID, ts(q.Since), ts(q.Until), 0}
	notFailure := "?"
	for _, code := range q.Interrupted {
		notFailure += ", ?"
		args = append(args, code)
	}
	args = append(args, q.TopAddresses)
	rows, err := db.read.QueryContext(ctx, `SELECT ip_address, count(*), count(DISTINCT upn) FROM signins `+
		db.indexHint("signins_tenant_time")+` WHERE tenant_id = ? AND created_at >= ? AND created_at < ?
		AND error_code NOT IN (`+notFailure+`) GROUP BY ip_address ORDER BY 2 DESC, 1 LIMIT ?`, args...)
	if err != nil {
		return nil, mapErr(err, "summarize failing addresses")
	}
	defer rows.Close()
	var out []store.AddressFailures
	for rows.Next() {
		var a store.AddressFailures
		if err := rows.Scan(&a.IPAddress, &a.Failures, &a.Accounts); err != nil {
			return nil, mapErr(err, "summarize failing addresses")
		}
		out = append(out, a)
	}
	return out, mapErr(rows.Err(), "summarize failing addresses")
}
