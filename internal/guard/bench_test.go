package guard

import (
	"context"
	"fmt"
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
