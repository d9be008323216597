package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// maxSummaryBuckets bounds a summary's buckets (a week of hours, with room).
const maxSummaryBuckets = 1000

// SummarizeSignIns implements store.SignInSearch: two grouped scans of the
// span on the (tenant, time) index, one per bucket and code, one per
// failing address.
func (db *DB) SummarizeSignIns(ctx context.Context, q store.SignInSummaryQuery) (store.SignInSummary, error) {
	span := q.Until.Sub(q.Since)
	if q.Bucket <= 0 || span <= 0 || span/q.Bucket > maxSummaryBuckets {
		return store.SignInSummary{}, errors.New("summarize sign-ins: a span of 1 to 1,000 buckets")
	}
	out := store.SignInSummary{Codes: map[int]int64{}}
	nBuckets := int((span + q.Bucket - 1) / q.Bucket)
	for i := range nBuckets {
		out.Buckets = append(out.Buckets, store.SignInBucket{Start: q.Since.Add(time.Duration(i) * q.Bucket)})
	}
	since, until, width := ts(q.Since), ts(q.Until), q.Bucket.Microseconds()
	rows, err := db.read.QueryContext(ctx, `SELECT (created_at - ?) / ?, error_code, count(*) FROM signins `+
		db.indexHint("signins_tenant_time")+` WHERE tenant_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY 1, 2`, since, width, q.TenantID, since, until)
	if err != nil {
		return out, mapErr(err, "summarize sign-ins")
	}
	defer rows.Close()
	for rows.Next() {
		var bucket, n int64
		var code int
		if err := rows.Scan(&bucket, &code, &n); err != nil {
			return out, mapErr(err, "summarize sign-ins")
		}
		if bucket < 0 || bucket >= int64(nBuckets) {
			continue
		}
		out.Buckets[bucket].Total += n
		if code != 0 {
			out.Buckets[bucket].Failures += n
		}
		out.Codes[code] += n
	}
	if err := rows.Err(); err != nil {
		return out, mapErr(err, "summarize sign-ins")
	}
	if q.TopAddresses <= 0 {
		return out, nil
	}
	addrs, err := db.read.QueryContext(ctx, `SELECT ip_address, count(*), count(DISTINCT upn) FROM signins `+
		db.indexHint("signins_tenant_time")+` WHERE tenant_id = ? AND created_at >= ? AND created_at < ? AND error_code <> 0
		GROUP BY ip_address ORDER BY 2 DESC, 1 LIMIT ?`, q.TenantID, since, until, q.TopAddresses)
	if err != nil {
		return out, mapErr(err, "summarize failing addresses")
	}
	defer addrs.Close()
	for addrs.Next() {
		var a store.AddressFailures
		if err := addrs.Scan(&a.IPAddress, &a.Failures, &a.Accounts); err != nil {
			return out, mapErr(err, "summarize failing addresses")
		}
		out.Addresses = append(out.Addresses, a)
	}
	return out, mapErr(addrs.Err(), "summarize failing addresses")
}
