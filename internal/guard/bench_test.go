package guard

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// BenchmarkLockedDecision measures refusing an attempt on a locked account
// in-process: policy, source classification, budget read and decision, no
// hash. Reports p50 and p99 per decision.
func BenchmarkLockedDecision(b *testing.B) {
	benchRefusal(b, func(f *fixture, u any) Attempt {
		usr := u.(*Attempt)
		return *usr
	}, false)
}

// BenchmarkLockedDecisionUnknownName is the same for a name with no account.
func BenchmarkLockedDecisionUnknownName(b *testing.B) {
	benchRefusal(b, nil, true)
}

func benchRefusal(b *testing.B, _ func(*fixture, any) Attempt, unknown bool) {
	f := newFixture(b)
	u := f.user(b, "right")
	a := Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey}
	if unknown {
		a.User, a.LoginKey = nil, "ghost@contoso.test"
	}
	ctx := context.Background()
	for i := range testPolicy.Threshold {
		a.Password = fmt.Sprint("wrong", i)
		if _, err := f.g.CheckPassword(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	a.Password = "right"
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		out, err := f.g.CheckPassword(ctx, a)
		durations = append(durations, time.Since(start))
		if err != nil || !out.Refused() {
			b.Fatalf("not refused: %+v %v", out, err)
		}
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(durations[len(durations)*99/100].Nanoseconds())/1000, "p99-µs")
}

// BenchmarkUnknownNamesMemory records 1,000,000 failed attempts on distinct
// names that match no account (the whole budget path except the dummy hash)
// and reports heap growth: the unknown-name table is fixed-size, so growth
// must stay flat however many names are tried.
func BenchmarkUnknownNamesMemory(b *testing.B) {
	const names = 1_000_000
	f := newFixture(b)
	ctx := context.Background()
	// The default table size (lockout.unknown_name_slots), filled from empty.
	f.g.unknown = newUnknownTable(1 << 17)
	p, _ := f.g.Policy(ctx, tenantID)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var growth float64
	for b.Loop() {
		before := heap()
		for i := range names {
			a := Attempt{TenantID: tenantID, LoginKey: fmt.Sprintf("user%d@contoso.test", i), Password: "guess"}
			src, err := f.g.classify(ctx, a, p)
			if err != nil {
				b.Fatal(err)
			}
			out := Outcome{}
			mac := f.g.mac(src.key.Subject, a.Password)
			if err := f.g.admit(ctx, src, p, mac, time.Time{}, &out); err != nil {
				b.Fatal(err)
			}
			if out.Decision == DecisionVerified {
				if err := f.g.settle(ctx, a, src, p, mac, &out); err != nil {
					b.Fatal(err)
				}
			}
		}
		growth = float64(heap()-min(before, heap())) / (1 << 20)
	}
	b.ReportMetric(growth, "heap-growth-MiB")
	b.ReportMetric(float64(len(f.g.unknown.slots)), "table-slots")
}
