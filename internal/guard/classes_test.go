package guard

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// TestAttackerCannotLockOutTheUser: an attacker exhausting the unfamiliar
// budget does not stop the user on a familiar network, a trusted location or
// with a device cookie; each of those budgets locks on its own.
func TestAttackerCannotLockOutTheUser(t *testing.T) {
	f := newFixture(t, netip.MustParsePrefix("198.51.100.0/24"))
	u := f.user(t, "right")
	if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.7"); !out.Correct || out.Class != ClassUnfamiliar {
		t.Fatalf("first sign-in: %+v", out)
	}
	for i := range 5 { // attacker from anywhere else
		f.try(t, &u, u.LoginKey, fmt.Sprint("guess", i), fmt.Sprintf("192.0.2.%d", i+1))
	}
	if out := f.try(t, &u, u.LoginKey, "guess-x", "192.0.2.99"); out.Decision != DecisionLocked {
		t.Fatalf("unfamiliar budget not locked: %+v", out)
	}
	// The user's network (same /24 as the earlier success) is familiar.
	if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.200"); !out.Correct || out.Class != ClassFamiliarNetwork || out.Scope != "203.0.113.0/24" {
		t.Fatalf("familiar network: %+v", out)
	}
	if out := f.try(t, &u, u.LoginKey, "right", "198.51.100.9"); !out.Correct || out.Class != ClassTrustedLocation {
		t.Fatalf("trusted location: %+v", out)
	}
	dev := &DeviceCookie{ID: "dev-1", UserID: u.ID}
	out, err := f.g.CheckPassword(context.Background(), Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey,
		Password: "right", ClientIP: netip.MustParseAddr("192.0.2.50"), Device: dev})
	if err != nil || !out.Correct || out.Class != ClassDeviceCookie || out.Threshold != 2 {
		t.Fatalf("device cookie: %+v %v", out, err)
	}
	// A cookie issued to someone else is just unfamiliar (from a network
	// without a success: 192.0.2.0/24 became familiar with the sign-in above).
	other := &DeviceCookie{ID: "dev-2", UserID: "someone-else"}
	out, _ = f.g.CheckPassword(context.Background(), Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey,
		Password: "right", ClientIP: netip.MustParseAddr("100.64.0.50"), Device: other})
	if out.Class != ClassUnfamiliar || out.Decision != DecisionLocked {
		t.Fatalf("foreign device cookie: %+v", out)
	}
	// The familiar budget is bounded too: a compromised familiar network locks.
	for i := range 3 {
		f.try(t, &u, u.LoginKey, fmt.Sprint("insider", i), "203.0.113.66")
	}
	if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.66"); out.Decision != DecisionLocked || out.Class != ClassFamiliarNetwork {
		t.Fatalf("familiar budget did not lock: %+v", out)
	}
	// Familiarity fades after familiar_network_days.
	f.advance(31 * 24 * time.Hour)
	if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.5"); out.Class != ClassUnfamiliar {
		t.Fatalf("network still familiar after 31 days: %+v", out)
	}
}

// TestUnknownNamesLockLikeRealOnes: the decisions for a real account and an
// unknown name under the same attempts are identical.
func TestUnknownNamesLockLikeRealOnes(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "right")
	seq := []string{"a", "b", "b", "c", "d", "e"}
	var real, ghost []string
	for _, pw := range seq {
		r := f.try(t, &u, u.LoginKey, pw, "192.0.2.1")
		g := f.try(t, nil, "ghost@contoso.test", pw, "192.0.2.1")
		real = append(real, fmt.Sprintf("%s/%d", r.Decision, r.Failures))
		ghost = append(ghost, fmt.Sprintf("%s/%d", g.Decision, g.Failures))
		if g.Verified || g.Correct {
			t.Fatalf("unknown name verified: %+v", g)
		}
	}
	f.advance(time.Minute)
	r, g := f.try(t, &u, u.LoginKey, "z", ""), f.try(t, nil, "ghost@contoso.test", "z", "")
	real, ghost = append(real, fmt.Sprint(r.Decision, r.LockedNow)), append(ghost, fmt.Sprint(g.Decision, g.LockedNow))
	if fmt.Sprint(real) != fmt.Sprint(ghost) {
		t.Fatalf("real and unknown diverge:\n real  %v\n ghost %v", real, ghost)
	}
	if real[4] != "locked/3" {
		t.Fatalf("expected a lock after 3 distinct failures, got %v", real)
	}
	// Case and Unicode variants are one name (the caller normalises), and
	// unknown names leave no rows in the database.
	if budgets, _ := f.db.ListBudgets(context.Background(), tenantID, f.g.unknownSubject(tenantID, "ghost@contoso.test")); len(budgets) != 0 {
		t.Fatalf("unknown name stored %d budget rows", len(budgets))
	}
}

// TestExactBudgetUnderConcurrency: 500 concurrent wrong passwords verify at
// most threshold times, and a correct password afterwards is refused.
func TestExactBudgetUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "right")
	var verified atomic.Int64
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			out := f.try(t, &u, u.LoginKey, fmt.Sprint("wrong", i), "")
			if out.Verified {
				verified.Add(1)
			}
		})
	}
	wg.Wait()
	if n := verified.Load(); n != int64(testPolicy.Threshold) {
		t.Fatalf("%d verifications, want exactly the threshold %d", n, testPolicy.Threshold)
	}
	if out := f.try(t, &u, u.LoginKey, "right", ""); out.Decision != DecisionLocked {
		t.Fatalf("correct password after the budget was spent: %+v", out)
	}
}

// TestUnknownTableIsFixedSize: a million names later the table has not grown.
func TestUnknownTableIsFixedSize(t *testing.T) {
	tab := newUnknownTable(1024)
	ctx := context.Background()
	for i := range 20000 {
		st, _ := tab.GetBudget(ctx, keyFor(fmt.Sprint("n", i)))
		st.Failures = append(st.Failures, time.Unix(int64(i), 0))
		st.UpdatedAt = time.Unix(int64(i), 0)
		if _, err := tab.PutBudget(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if len(tab.slots) != 1024 {
		t.Fatalf("table grew to %d slots", len(tab.slots))
	}
	// The most recent names are still tracked.
	if st, _ := tab.GetBudget(ctx, keyFor("n19999")); len(st.Failures) != 1 {
		t.Fatalf("latest name forgotten: %+v", st)
	}
}

// TestBudgetCodecRoundTrip: whatever the state machine stores in the
// unknown-name table comes back equal, and corrupt bytes are an error, not a
// panic or a huge allocation.
func TestBudgetCodecRoundTrip(t *testing.T) {
	genTime := rapid.Custom(func(t *rapid.T) time.Time {
		if rapid.Bool().Draw(t, "zero") {
			return time.Time{}
		}
		return time.Unix(0, rapid.Int64Range(-1e18, 4e18).Draw(t, "nanos"))
	})
	rapid.Check(t, func(t *rapid.T) {
		st := store.BudgetState{Key: keyFor("n"), Version: rapid.Int64Range(0, 1e6).Draw(t, "version"),
			LockedUntil: genTime.Draw(t, "lockedUntil"), LockedAt: genTime.Draw(t, "lockedAt"),
			Lockouts: rapid.IntRange(0, 1000).Draw(t, "lockouts"), UpdatedAt: genTime.Draw(t, "updated"),
			LockoutID: rapid.String().Draw(t, "lockoutID")}
		for range rapid.IntRange(0, 40).Draw(t, "failures") {
			st.Failures = append(st.Failures, genTime.Draw(t, "failure"))
		}
		for range rapid.IntRange(0, 4).Draw(t, "typos") {
			mac := rapid.OneOf(rapid.StringMatching(`[0-9a-f]{32}`), rapid.String()).Draw(t, "mac")
			st.Typos = append(st.Typos, store.Typo{MAC: mac, At: genTime.Draw(t, "typoAt")})
		}
		packed := encodeBudget(st)
		got, err := decodeBudget(st.Key, st.Version, unixNanos(st.UpdatedAt), packed)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if d := budgetDiff(st, got); d != "" {
			t.Fatalf("round trip: %s", d)
		}
		if len(packed) > 0 {
			cut := rapid.IntRange(0, len(packed)-1).Draw(t, "cut")
			if _, err := decodeBudget(st.Key, 1, 1, packed[:cut]); err == nil {
				t.Fatalf("truncated to %d of %d bytes decoded without error", cut, len(packed))
			}
		}
	})
}

// budgetDiff compares states by instant, not by location or monotonic reading.
func budgetDiff(a, b store.BudgetState) string {
	eq := func(x, y time.Time) bool { return x.Equal(y) && x.IsZero() == y.IsZero() }
	switch {
	case a.Key != b.Key || a.Version != b.Version || a.Lockouts != b.Lockouts || a.LockoutID != b.LockoutID:
		return fmt.Sprintf("fields: %+v != %+v", a, b)
	case !eq(a.LockedUntil, b.LockedUntil) || !eq(a.LockedAt, b.LockedAt) || !eq(a.UpdatedAt, b.UpdatedAt):
		return fmt.Sprintf("times: %+v != %+v", a, b)
	case len(a.Failures) != len(b.Failures) || len(a.Typos) != len(b.Typos):
		return fmt.Sprintf("lengths: %+v != %+v", a, b)
	}
	for i := range a.Failures {
		if !eq(a.Failures[i], b.Failures[i]) {
			return fmt.Sprintf("failure %d: %v != %v", i, a.Failures[i], b.Failures[i])
		}
	}
	for i := range a.Typos {
		if a.Typos[i].MAC != b.Typos[i].MAC || !eq(a.Typos[i].At, b.Typos[i].At) {
			return fmt.Sprintf("typo %d: %+v != %+v", i, a.Typos[i], b.Typos[i])
		}
	}
	return ""
}

// countingNetworks counts familiar-network reads on a real store.
type countingNetworks struct {
	*sqlstore.DB
	recent, single, touches, budgetWrites atomic.Int64
	// afterRecent, when set, runs once after RecentNetworks has read its
	// answer and before it returns it.
	afterRecent func()
}

func (c *countingNetworks) TouchNetwork(ctx context.Context, tenantID, userID, prefix string, at time.Time) error {
	c.touches.Add(1)
	return c.DB.TouchNetwork(ctx, tenantID, userID, prefix, at)
}

func (c *countingNetworks) PutBudget(ctx context.Context, st store.BudgetState) (int64, error) {
	c.budgetWrites.Add(1)
	return c.DB.PutBudget(ctx, st)
}

func (c *countingNetworks) RecentNetworks(ctx context.Context, tenantID, userID string, since time.Time, limit int) ([]store.NetworkUse, error) {
	c.recent.Add(1)
	nets, err := c.DB.RecentNetworks(ctx, tenantID, userID, since, limit)
	if hook := c.afterRecent; hook != nil {
		c.afterRecent = nil
		hook()
	}
	return nets, err
}

func (c *countingNetworks) NetworkLastSuccess(ctx context.Context, tenantID, userID, prefix string) (time.Time, error) {
	c.single.Add(1)
	return c.DB.NetworkLastSuccess(ctx, tenantID, userID, prefix)
}

// countReads rebuilds the fixture's guard over a counting wrapper of its store.
func (f *fixture) countReads(t *testing.T) *countingNetworks {
	t.Helper()
	counting := &countingNetworks{DB: f.db}
	g, err := New(context.Background(), Config{Store: counting, Pool: f.g.pool, Params: fastParams, DefaultPolicy: testPolicy,
		UnknownNameSlots: 4096, Now: f.now, CacheTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.g = g
	return counting
}

// TestFamiliarNetworkReadsPerUser: attempts from many new addresses against
// one account read the user's networks once per cache TTL, not once per
// address; a new success is familiar at once; a user with more networks than
// the cached set still gets exact answers.
func TestFamiliarNetworkReadsPerUser(t *testing.T) {
	f := newFixture(t)
	counting := f.countReads(t)
	u := f.user(t, "right")
	if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.7"); !out.Correct {
		t.Fatalf("first sign-in: %+v", out)
	}
	before := counting.recent.Load() + counting.single.Load()
	for i := range 200 {
		f.try(t, &u, u.LoginKey, "wrong", fmt.Sprintf("10.9.%d.1", i))
	}
	if reads := counting.recent.Load() + counting.single.Load() - before; reads > 1 {
		t.Fatalf("200 attempts from 200 networks within one TTL read the store %d times", reads)
	}
	if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.99"); out.Class != ClassFamiliarNetwork || !out.Correct {
		t.Fatalf("the network of the first success is not familiar: %+v", out)
	}

	v := f.user(t, "right")
	for i := range maxCachedNetworks + 6 {
		if err := f.db.TouchNetwork(context.Background(), tenantID, v.ID, fmt.Sprintf("198.18.%d.0/24", i), f.now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		ip   string
		want string
	}{{"198.18.0.5", ClassFamiliarNetwork}, {fmt.Sprintf("198.18.%d.5", maxCachedNetworks+5), ClassFamiliarNetwork},
		{"198.19.0.5", ClassUnfamiliar}} {
		if out := f.try(t, &v, v.LoginKey, "right", c.ip); out.Class != c.want {
			t.Fatalf("user with %d networks from %s: class %s, want %s", maxCachedNetworks+6, c.ip, out.Class, c.want)
		}
	}
}

// TestRepeatedSuccessWritesNothing: a user signing in again and again from
// the same network costs no budget write and no network write until an
// hour has passed; a success after a failure still resets the budget.
func TestRepeatedSuccessWritesNothing(t *testing.T) {
	f := newFixture(t)
	counting := f.countReads(t)
	u := f.user(t, "right")
	f.try(t, &u, u.LoginKey, "right", "203.0.113.7") // unfamiliar: creates the budget, records the network
	f.try(t, &u, u.LoginKey, "right", "203.0.113.8") // familiar network: creates that budget
	touches, writes := counting.touches.Load(), counting.budgetWrites.Load()
	for range 5 {
		f.clock = f.clock.Add(5 * time.Minute)
		if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.9"); !out.Correct || out.Class != ClassFamiliarNetwork {
			t.Fatalf("repeat sign-in: %+v", out)
		}
	}
	if d := counting.touches.Load() - touches; d != 0 {
		t.Fatalf("%d network writes for repeated sign-ins within the hour", d)
	}
	if d := counting.budgetWrites.Load() - writes; d != 0 {
		t.Fatalf("%d budget writes for successes with nothing to reset", d)
	}
	f.clock = f.clock.Add(time.Hour)
	f.try(t, &u, u.LoginKey, "right", "203.0.113.9")
	if d := counting.touches.Load() - touches; d != 1 {
		t.Fatalf("%d network writes after an hour, want 1", d)
	}
	if out := f.try(t, &u, u.LoginKey, "wrong", "203.0.113.9"); out.Failures != 1 {
		t.Fatalf("failure not counted: %+v", out)
	}
	if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.9"); out.Failures != 0 {
		t.Fatalf("success after a failure did not reset the budget: %+v", out)
	}
}

// TestNetworkListReadDuringSuccessIsNotCached: a list of networks read
// while the same user's success recorded a new network must not be cached,
// or that network would look unfamiliar for the cache's whole lifetime.
func TestNetworkListReadDuringSuccessIsNotCached(t *testing.T) {
	f := newFixture(t)
	counting := f.countReads(t)
	u := f.user(t, "right")
	counting.afterRecent = func() { // the stale (empty) list is in hand; now a success lands
		if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.7"); !out.Correct {
			t.Fatalf("concurrent success: %+v", out)
		}
	}
	f.try(t, &u, u.LoginKey, "wrong", "203.0.113.8")
	f.clock = f.clock.Add(2 * time.Second) // past the per-network cache, within the list's
	if out := f.try(t, &u, u.LoginKey, "right", "203.0.113.9"); out.Class != ClassFamiliarNetwork {
		t.Fatalf("network recorded during a list read is not familiar: class %s", out.Class)
	}
}

// TestExhaustedDeviceCookieIsIgnored: wrong passwords through one device
// cookie use up that cookie's budget (device_cookie_threshold, 2 here);
// after that the cookie counts for nothing and the attempt draws on the
// budget of its network, not on a locked cookie budget of its own.
func TestExhaustedDeviceCookieIsIgnored(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "right")
	dev := &DeviceCookie{ID: "stolen", UserID: u.ID}
	try := func(pw string) Outcome {
		t.Helper()
		out, err := f.g.CheckPassword(context.Background(), Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey,
			Password: pw, ClientIP: netip.MustParseAddr("192.0.2.10"), Device: dev})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for i := range 2 {
		if out := try(fmt.Sprint("guess", i)); out.Class != ClassDeviceCookie || out.Correct {
			t.Fatalf("guess %d through the cookie: %+v", i, out)
		}
	}
	out := try("guess-3")
	if out.Class != ClassUnfamiliar || out.Decision != DecisionVerified {
		t.Fatalf("after the cookie's budget is used up: %+v, want an unfamiliar attempt, verified", out)
	}
	if out := try("right"); !out.Correct || out.Class != ClassUnfamiliar {
		t.Fatalf("the right password with an exhausted cookie: %+v", out)
	}
}
