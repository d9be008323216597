package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// SignInSummary checks the dashboard aggregate against the records
// written: per-hour totals and failures (empty hours included, the span's
// edges exclusive at the end), per-code counts, and the failing addresses
// ranked with their distinct user names; other tenants and records outside
// the span never count.
func SignInSummary(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	at := func(h, m int) time.Time { return base.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	type rec struct {
		tenant, upn, ip string
		code            int
		when            time.Time
	}
	recs := []rec{
		{"t1", "alice@contoso.com", "203.0.113.5", 50126, at(0, 0)},  // the span's first instant
		{"t1", "bob@contoso.com", "203.0.113.5", 50126, at(0, 10)},   // same address, another user
		{"t1", "alice@contoso.com", "203.0.113.5", 50053, at(0, 20)}, // same address, alice again
		{"t1", "alice@contoso.com", "198.51.100.1", 0, at(0, 30)},
		{"t1", "carol@contoso.com", "198.51.100.2", 50126, at(2, 5)}, // hour 1 stays empty
		{"t1", "carol@contoso.com", "198.51.100.2", 0, at(2, 59)},
		{"t1", "carol@contoso.com", "198.51.100.3", 50076, at(2, 30)}, // interrupted: not a failure
		{"t1", "dave@contoso.com", "192.0.2.9", 50126, at(3, 0)},      // the span's end: outside
		{"t1", "erin@contoso.com", "192.0.2.9", 50126, at(-1, 0)},     // before the span
		{"t2", "frank@fabrikam.com", "203.0.113.5", 50126, at(0, 5)},  // another tenant
	}
	var rows []store.SignInRow
	for i, r := range recs {
		rows = append(rows, store.SignInRow{ID: fmt.Sprintf("00000000-0000-7000-9000-%012d", i), CreatedAt: r.when,
			TenantID: r.tenant, UserID: r.upn, UPN: r.upn, AppID: "app", IPAddress: r.ip, ErrorCode: r.code,
			CorrelationID: fmt.Sprint("s", i), Body: []byte(`{}`)})
	}
	must(t, s.AppendSignIns(ctx, rows), "AppendSignIns")
	got, err := s.SummarizeSignIns(ctx, store.SignInSummaryQuery{TenantID: "t1", Since: at(0, 0), Until: at(3, 0),
		Bucket: time.Hour, TopAddresses: 2, Interrupted: []int{50076}})
	must(t, err, "SummarizeSignIns")
	want := store.SignInSummary{
		Buckets: []store.SignInBucket{{Start: at(0, 0), Total: 4, Failures: 3}, {Start: at(1, 0)}, {Start: at(2, 0), Total: 3, Failures: 1, Interrupted: 1}},
		Codes:   map[int]int64{0: 2, 50126: 3, 50053: 1, 50076: 1},
		Addresses: []store.AddressFailures{{IPAddress: "203.0.113.5", Failures: 3, Accounts: 2},
			{IPAddress: "198.51.100.2", Failures: 1, Accounts: 1}},
	}
	for i := range got.Buckets {
		got.Buckets[i].Start = got.Buckets[i].Start.UTC()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summary:\n got %+v\nwant %+v", got, want)
	}
	if _, err := s.SummarizeSignIns(ctx, store.SignInSummaryQuery{TenantID: "t1", Since: at(0, 0), Until: at(0, 0), Bucket: time.Hour}); err == nil {
		t.Fatal("an empty span was summarised")
	}
}
