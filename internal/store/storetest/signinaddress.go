package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// SignInAddressSearch checks address filters against a reference over a
// log large enough for a backend to index part of it and not the rest
// (11,000 records in batches, some out of time order and some sharing a
// time): every page in both directions, the count, and the same after
// retention pruned the oldest third.
func SignInAddressSearch(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	rng := rand.New(rand.NewPCG(7, 11))
	var rows []store.SignInRow
	for i := range 11000 {
		var ip string
		switch k := rng.IntN(20); {
		case k == 0:
			ip = fmt.Sprintf("203.0.113.%d", rng.IntN(256))
		case k == 1:
			ip = fmt.Sprintf("2001:db8::%x", rng.IntN(65536))
		case k == 2:
			ip = fmt.Sprintf("2001:db8:1::%x", rng.IntN(65536))
		default:
			ip = fmt.Sprintf("%d.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256))
		}
		at := base.Add(time.Duration(i/3) * time.Second) // three records share each second
		if i%97 == 0 {
			at = at.Add(-time.Hour) // written late
		}
		tenant := "t1"
		if i%5 == 0 {
			tenant = "t2"
		}
		rows = append(rows, store.SignInRow{ID: fmt.Sprintf("%08d-%04x", i, rng.IntN(65536)), CreatedAt: at, TenantID: tenant,
			UserID: "u", UPN: "u@contoso.com", AppID: "a", IPAddress: ip, ErrorCode: []int{0, 50053, 50126}[rng.IntN(3)],
			CorrelationID: fmt.Sprint("c", i), Body: []byte(`{}`)})
	}
	for i := 0; i < len(rows); i += 500 {
		must(t, s.AppendSignIns(ctx, rows[i:min(i+500, len(rows))]), "AppendSignIns")
	}
	filters := []struct {
		filter string
		match  func(store.SignInRow) bool
	}{
		{"startswith(ipAddress, '203.0.113.')", func(r store.SignInRow) bool { return strings.HasPrefix(r.IPAddress, "203.0.113.") }},
		{"ipAddress eq '203.0.113.7'", func(r store.SignInRow) bool { return r.IPAddress == "203.0.113.7" }},
		{"startswith(ipAddress, '2001:db8::')", func(r store.SignInRow) bool { return strings.HasPrefix(r.IPAddress, "2001:db8::") }},
		{"startswith(ipAddress, '203.0.113.') and status/errorCode eq 50053", func(r store.SignInRow) bool {
			return strings.HasPrefix(r.IPAddress, "203.0.113.") && r.ErrorCode == 50053
		}},
		{"status/errorCode ne 0 and startswith(ipAddress, '1')", func(r store.SignInRow) bool {
			return strings.HasPrefix(r.IPAddress, "1") && r.ErrorCode != 0
		}},
		{"not startswith(ipAddress, '203.')", func(r store.SignInRow) bool { return !strings.HasPrefix(r.IPAddress, "203.") }},
	}
	check := func(stage string, kept func(store.SignInRow) bool) {
		t.Helper()
		for _, f := range filters {
			where, err := odata.Parse(f.filter, store.SignInSchema)
			must(t, err, f.filter)
			var want []string
			for _, r := range rows {
				if r.TenantID == "t1" && f.match(r) && kept(r) {
					want = append(want, r.ID)
				}
			}
			for _, asc := range []bool{false, true} {
				wantOrder := slices.Clone(want)
				slices.SortFunc(wantOrder, func(a, b string) int { return compareRows(rows, a, b, asc) })
				got := pageAll(t, s, store.SignInFilter{TenantID: "t1", Where: where, Ascending: asc, Limit: 97})
				if !slices.Equal(got, wantOrder) {
					t.Fatalf("%s, %q ascending=%v: %d records, want %d (first difference at %d)", stage, f.filter, asc,
						len(got), len(wantOrder), firstDifference(got, wantOrder))
				}
			}
			n, err := s.CountSignIns(ctx, "t1", where)
			must(t, err, "CountSignIns")
			if n != int64(len(want)) {
				t.Fatalf("%s, count %q = %d, want %d", stage, f.filter, n, len(want))
			}
		}
	}
	check("after writing", func(store.SignInRow) bool { return true })
	cutoff := base.Add(20 * time.Minute)
	for {
		n, err := s.PruneSignIns(ctx, "t1", cutoff, 700)
		must(t, err, "PruneSignIns")
		if n < 700 {
			break
		}
	}
	check("after pruning", func(r store.SignInRow) bool { return !r.CreatedAt.Before(cutoff) })
}

// compareRows orders two record IDs by (created, id) as the store pages.
func compareRows(rows []store.SignInRow, a, b string, asc bool) int {
	find := func(id string) store.SignInRow {
		var i int
		fmt.Sscanf(id, "%08d", &i)
		return rows[i]
	}
	x, y := find(a), find(b)
	c := x.CreatedAt.Compare(y.CreatedAt)
	if c == 0 {
		c = strings.Compare(x.ID, y.ID)
	}
	if !asc {
		c = -c
	}
	return c
}

func pageAll(t *testing.T, s store.Store, f store.SignInFilter) []string {
	t.Helper()
	var out []string
	for {
		page, err := s.FindSignIns(context.Background(), f)
		must(t, err, "FindSignIns")
		for _, r := range page {
			out = append(out, r.ID)
		}
		if len(page) < f.Limit {
			return out
		}
		last := page[len(page)-1]
		f.After = &store.SignInCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
}

func firstDifference(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
