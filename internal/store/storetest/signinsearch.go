package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// SignInSearch checks that every filterable property, operator and
// combinator selects exactly the right rows, that paging in both directions
// has no gaps or duplicates even while newer records arrive, and counting.
func SignInSearch(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	type rec struct {
		upn, ip, city, country, app string
		code                        int
		interactive                 bool
	}
	recs := []rec{
		{"alice@contoso.com", "203.0.113.5", "Redmond", "US", "Payroll", 50053, true},
		{"alice@contoso.com", "203.0.113.9", "Auckland", "NZ", "Payroll", 0, true},
		{"bob@contoso.com", "198.51.100.7", "Redmond", "US", "Portcullis CLI", 50126, false},
		{"carol@contoso.com", "2001:db8::1", "", "", "Portcullis CLI", 50053, false},
		{"O'Brien@contoso.com", "203.0.113.77", "Dublin", "IE", "Payroll", 50053, true},
	}
	var rows []store.SignInRow
	for i, r := range recs {
		body := fmt.Sprintf(`{"userDisplayName":"User %d","appDisplayName":%q,"clientAppUsed":"Mobile Apps and Desktop clients",`+
			`"location":{"city":%q,"countryOrRegion":%q},"conditionalAccessStatus":"notApplied","riskLevelDuringSignIn":"none",`+
			`"isInteractive":%v}`, i, r.app, r.city, r.country, r.interactive)
		rows = append(rows, store.SignInRow{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", i), CreatedAt: base.Add(time.Duration(i) * time.Minute),
			TenantID: "t1", UserID: fmt.Sprint("u", i), UPN: r.upn, AppID: r.app, IPAddress: r.ip, ErrorCode: r.code,
			CorrelationID: fmt.Sprint("c", i), Body: []byte(body)})
	}
	other := rows[0]
	other.ID, other.TenantID = "00000000-0000-7000-8000-999999999999", "t2"
	must(t, s.AppendSignIns(ctx, append(slices.Clone(rows), other)), "AppendSignIns")

	find := func(filter string, asc bool) []int {
		t.Helper()
		var where odata.Expr
		if filter != "" {
			var err error
			if where, err = odata.Parse(filter, store.SignInSchema); err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
		}
		got, err := s.FindSignIns(ctx, store.SignInFilter{TenantID: "t1", Where: where, Ascending: asc, Limit: 100})
		must(t, err, "FindSignIns "+filter)
		var idx []int
		for _, r := range got {
			idx = append(idx, slices.IndexFunc(rows, func(x store.SignInRow) bool { return x.ID == r.ID }))
		}
		n, err := s.CountSignIns(ctx, "t1", where)
		must(t, err, "CountSignIns "+filter)
		if int(n) != len(idx) {
			t.Fatalf("%q: count %d, rows %d", filter, n, len(idx))
		}
		return idx
	}
	cases := map[string][]int{
		"":                          {4, 3, 2, 1, 0},
		"status/errorCode eq 50053": {4, 3, 0},
		"status/errorCode ne 0":     {4, 3, 2, 0},
		"userPrincipalName eq 'alice@contoso.com' and status/errorCode eq 50053":             {0},
		"userPrincipalName eq 'O''Brien@contoso.com'":                                        {4},
		"startswith(ipAddress, '203.0.113.')":                                                {4, 1, 0},
		"startswith(ipAddress, '203.0.113.7')":                                               {4},
		"location/city eq 'Redmond'":                                                         {2, 0},
		"location/countryOrRegion ne 'US'":                                                   {4, 3, 1},
		"startswith(appDisplayName, 'Pay')":                                                  {4, 1, 0},
		"isInteractive eq false":                                                             {3, 2},
		"userDisplayName eq 'User 2'":                                                        {2},
		"not (status/errorCode eq 50053)":                                                    {2, 1},
		"(status/errorCode eq 50126 or location/city eq 'Dublin') and isInteractive eq true": {4},
		"createdDateTime ge " + base.Add(time.Minute).Format(time.RFC3339Nano) + " and createdDateTime le " +
			base.Add(3*time.Minute).Format(time.RFC3339Nano): {3, 2, 1},
		"userId eq 'u3' or correlationId eq 'c1'": {3, 1},
		"appId eq 'nothing'":                      nil,
		"clientAppUsed eq 'Mobile Apps and Desktop clients' and conditionalAccessStatus eq 'notApplied' and riskLevelDuringSignIn eq 'none'": {4, 3, 2, 1, 0},
	}
	for filter, want := range cases {
		if got := find(filter, false); !slices.Equal(got, want) {
			t.Errorf("%q: rows %v, want %v", filter, got, want)
		}
	}
	if got := find("status/errorCode eq 50053", true); !slices.Equal(got, []int{0, 3, 4}) {
		t.Errorf("ascending: %v", got)
	}

	// Paging newest first, two at a time, while newer records arrive: every
	// original record exactly once, in order.
	var seen []string
	var after *store.SignInCursor
	for page := 0; ; page++ {
		got, err := s.FindSignIns(ctx, store.SignInFilter{TenantID: "t1", After: after, Limit: 2})
		must(t, err, "page")
		if len(got) == 0 {
			break
		}
		for _, r := range got {
			seen = append(seen, r.ID)
		}
		last := got[len(got)-1]
		after = &store.SignInCursor{CreatedAt: last.CreatedAt, ID: last.ID}
		newer := rows[0]
		newer.ID, newer.CreatedAt = fmt.Sprintf("00000000-0000-7000-8000-1%011d", page), base.Add(time.Hour+time.Duration(page)*time.Second)
		must(t, s.AppendSignIns(ctx, []store.SignInRow{newer}), "append during paging")
	}
	want := []string{rows[4].ID, rows[3].ID, rows[2].ID, rows[1].ID, rows[0].ID}
	if !slices.Equal(seen, want) {
		t.Fatalf("paged %v, want %v", seen, want)
	}
}

// Retention checks that pruning removes only old records of one tenant, in
// batches of at most the limit.
func Retention(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	var rows []store.SignInRow
	for i := range 7 {
		for _, tenant := range []string{"t1", "t2"} {
			rows = append(rows, store.SignInRow{ID: fmt.Sprintf("00000000-0000-7000-8000-%s%010d", tenant, i), TenantID: tenant,
				CreatedAt: base.Add(time.Duration(i) * 24 * time.Hour), Body: []byte(`{}`)})
		}
		must(t, s.AppendAudit(ctx, store.AuditRow{ID: newID(), TenantID: "t1", CreatedAt: base.Add(time.Duration(i) * 24 * time.Hour),
			Category: "c", Activity: "a", Result: "success", Body: []byte(`{}`)}), "AppendAudit")
	}
	must(t, s.AppendSignIns(ctx, rows), "AppendSignIns")
	cutoff := base.Add(5 * 24 * time.Hour) // days 0-4 go, 5 and 6 stay
	n, err := s.PruneSignIns(ctx, "t1", cutoff, 3)
	must(t, err, "PruneSignIns")
	if n != 3 {
		t.Fatalf("first batch deleted %d, want the limit 3", n)
	}
	n, err = s.PruneSignIns(ctx, "t1", cutoff, 3)
	must(t, err, "PruneSignIns")
	if n != 2 {
		t.Fatalf("second batch deleted %d, want the 2 left", n)
	}
	if n, _ := s.PruneSignIns(ctx, "t1", cutoff, 3); n != 0 {
		t.Fatalf("third batch deleted %d", n)
	}
	left, err := s.FindSignIns(ctx, store.SignInFilter{TenantID: "t1", Limit: 100})
	must(t, err, "FindSignIns")
	if len(left) != 2 || !left[1].CreatedAt.Equal(cutoff) {
		t.Fatalf("t1 after pruning: %+v", left)
	}
	if other, _ := s.FindSignIns(ctx, store.SignInFilter{TenantID: "t2", Limit: 100}); len(other) != 7 {
		t.Fatalf("t2 touched: %d records left", len(other))
	}
	n, err = s.PruneAudits(ctx, "t1", cutoff, 100)
	must(t, err, "PruneAudits")
	if kept, _ := s.QueryAudits(ctx, store.AuditQuery{TenantID: "t1", Limit: 100}); n != 5 || len(kept) != 2 {
		t.Fatalf("audits: deleted %d, kept %d", n, len(kept))
	}
}
