package guard

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/geo"
	"github.com/portcullis-idp/portcullis/internal/ipintel"
	"github.com/portcullis-idp/portcullis/internal/store"
)

type fakeFeeds map[string]ipintel.FeedMatch // prefix -> match

func (f fakeFeeds) Lookup(ip netip.Addr) []ipintel.FeedMatch {
	var out []ipintel.FeedMatch
	for p, m := range f {
		if netip.MustParsePrefix(p).Contains(ip) {
			m.Prefix = netip.MustParsePrefix(p)
			out = append(out, m)
		}
	}
	return out
}

var testDetection = DetectionPolicy{Window: time.Hour, SprayAccounts: 5, SprayMaxPerAccount: 2, StuffingUnknown: 8,
	StuffingFailureRatio: 0.9, VelocityFailures: 30, PrefixMultiplier: 3, BlockDuration: time.Hour,
	MaxBlockDuration: 4 * time.Hour, TrackedSources: 1000}

func ipFixture(t *testing.T, feeds FeedSource, locs []geo.NamedLocation) *fixture {
	f := newFixture(t)
	var err error
	f.g, err = New(context.Background(), Config{Store: f.db, Pool: f.g.pool, Params: fastParams, DefaultPolicy: testPolicy,
		UnknownNameSlots: 4096, Events: f.bus, Now: f.now, CacheTTL: time.Second, Feeds: feeds, Locations: locs,
		Detection: testDetection})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestVerdictSourcesAndTrustedWins(t *testing.T) {
	feeds := fakeFeeds{"198.51.100.0/24": {Feed: "drop", Category: "malicious", Action: "block"},
		"192.0.2.0/24": {Feed: "tor", Category: "tor", Action: "report"}}
	hq := geo.NamedLocation{ID: "hq", Name: "HQ", CIDRs: []netip.Prefix{netip.MustParsePrefix("198.51.100.128/25")}, Trusted: true}
	f := ipFixture(t, feeds, []geo.NamedLocation{hq})
	v := f.g.CheckIP(tenantID, netip.MustParseAddr("198.51.100.7"))
	if !v.Blocked || v.AutomaticOnly || len(v.Matches) != 1 || v.Matches[0].Name != "drop" {
		t.Fatalf("feed block: %+v", v)
	}
	if v := f.g.CheckIP(tenantID, netip.MustParseAddr("192.0.2.1")); v.Blocked || len(v.Matches) != 1 {
		t.Fatalf("report-only feed: %+v", v)
	}
	// An admin can always rescue a network: trusted locations win.
	if v := f.g.CheckIP(tenantID, netip.MustParseAddr("198.51.100.200")); v.Blocked || !v.Trusted || len(v.Matches) != 2 {
		t.Fatalf("trusted location over a feed: %+v", v)
	}
	b, err := f.g.BlockIP(context.Background(), netip.MustParsePrefix("203.0.113.0/24"), "abuse", "admin@contoso.test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if v := f.g.CheckIP(tenantID, netip.MustParseAddr("203.0.113.9")); !v.Blocked || v.Matches[0].Name != b.ID || v.Matches[0].Origin != "admin" {
		t.Fatalf("admin block: %+v", v)
	}
	if err := f.g.UnblockIP(context.Background(), b.ID, "admin@contoso.test", "resolved"); err != nil {
		t.Fatal(err)
	}
	if v := f.g.CheckIP(tenantID, netip.MustParseAddr("203.0.113.9")); v.Blocked {
		t.Fatalf("after unblock: %+v", v)
	}
}

// TestSharedNATUserWithDeviceCookiePasses: attacker and user behind one
// address. The automatic block stops the attacker; the user presenting a
// device cookie issued to her account gets through. An admin or feed block
// still stops everyone.
func TestSharedNATUserWithDeviceCookiePasses(t *testing.T) {
	f := ipFixture(t, nil, nil)
	ctx := context.Background()
	const nat = "100.64.7.7"
	for i := range 5 {
		f.try(t, nil, fmt.Sprintf("victim%d@contoso.test", i), "guess", nat)
	}
	u := f.user(t, "right")
	attacker, err := f.g.CheckPassword(ctx, Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey, Password: "right",
		ClientIP: netip.MustParseAddr(nat)})
	if err != nil || attacker.Decision != DecisionIPBlocked || !attacker.IP.AutomaticOnly {
		t.Fatalf("without a device cookie: %+v %v", attacker, err)
	}
	user, err := f.g.CheckPassword(ctx, Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey, Password: "right",
		ClientIP: netip.MustParseAddr(nat), Device: &DeviceCookie{ID: "d1", UserID: u.ID}})
	if err != nil || !user.Correct {
		t.Fatalf("user with her device cookie behind the shared address: %+v %v", user, err)
	}
	stolen, _ := f.g.CheckPassword(ctx, Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey, Password: "right",
		ClientIP: netip.MustParseAddr(nat), Device: &DeviceCookie{ID: "d2", UserID: "someone-else"}})
	if stolen.Decision != DecisionIPBlocked {
		t.Fatalf("another account's cookie passed the block: %+v", stolen)
	}
	if _, err := f.g.BlockIP(ctx, netip.MustParsePrefix(nat+"/32"), "abuse", "admin", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if out, _ := f.g.CheckPassword(ctx, Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey, Password: "right",
		ClientIP: netip.MustParseAddr(nat), Device: &DeviceCookie{ID: "d1", UserID: u.ID}}); out.Decision != DecisionIPBlocked {
		t.Fatalf("admin block did not apply to the device cookie: %+v", out)
	}
}

var velocityUser store.User

func TestDetectionRulesAndEscalation(t *testing.T) {
	cases := []struct {
		rule    string
		attempt func(f *fixture, ip string, i int)
		n       int
	}{
		{RuleSpray, func(f *fixture, ip string, i int) { f.try(t, nil, fmt.Sprintf("acct%d@contoso.test", i), "p", ip) }, 5},
		{RuleStuffing, func(f *fixture, ip string, i int) {
			f.try(t, nil, fmt.Sprintf("ghost%d@contoso.test", i/3), fmt.Sprint("p", i), ip) // 3 per name: not a spray
		}, 22}, // the 8th distinct name arrives with attempt 22
		{RuleVelocity, func(f *fixture, ip string, i int) { // one real account, hammered
			if velocityUser.ID == "" {
				velocityUser = f.user(t, "right")
			}
			f.try(t, &velocityUser, velocityUser.LoginKey, fmt.Sprint("p", i), ip)
		}, 30},
	}
	for _, c := range cases {
		f := ipFixture(t, nil, nil)
		ip := "198.51.100.10"
		for i := range c.n {
			if v := f.g.CheckIP(tenantID, netip.MustParseAddr(ip)); v.Blocked {
				t.Fatalf("%s: blocked after only %d attempts", c.rule, i)
			}
			c.attempt(f, ip, i)
		}
		v := f.g.CheckIP(tenantID, netip.MustParseAddr(ip))
		if !v.Blocked || !v.AutomaticOnly || v.Matches[0].Rule != c.rule {
			t.Fatalf("%s: verdict %+v", c.rule, v)
		}
	}
	// A rule in report-only mode records without blocking; the others enforce.
	ro := testDetection
	ro.ReportOnlyRules = []string{RuleSpray}
	f0 := newFixture(t)
	g0, err := New(context.Background(), Config{Store: f0.db, Pool: f0.g.pool, Params: fastParams, DefaultPolicy: testPolicy,
		UnknownNameSlots: 4096, Now: f0.now, Detection: ro})
	if err != nil {
		t.Fatal(err)
	}
	f0.g = g0
	for i := range 6 {
		f0.try(t, nil, fmt.Sprintf("acct%d@contoso.test", i), "p", "198.51.100.30")
	}
	if v := f0.g.CheckIP(tenantID, netip.MustParseAddr("198.51.100.30")); v.Blocked || len(v.Matches) != 1 || v.Matches[0].Action != "report" {
		t.Fatalf("report-only rule: %+v", v)
	}
	// A second detection of the same address lasts twice as long.
	f := ipFixture(t, nil, nil)
	spray := func(prefix string) {
		for i := range 5 {
			f.try(t, nil, fmt.Sprintf("%s%d@contoso.test", prefix, i), "p", "198.51.100.20")
		}
	}
	spray("a")
	f.advance(2 * time.Hour) // block expired, window passed
	spray("b")
	blocks, _ := f.db.ListIPBlocks(context.Background(), false, f.now())
	if len(blocks) != 2 || blocks[0].ExpiresAt.Sub(blocks[0].CreatedAt) != 2*time.Hour || blocks[1].ExpiresAt.Sub(blocks[1].CreatedAt) != time.Hour {
		t.Fatalf("escalation: %+v", blocks)
	}
}

func TestDetectorMemoryIsBounded(t *testing.T) {
	d := newDetector(testDetection)
	now := time.Unix(1_800_000_000, 0)
	for i := range 5000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		d.observe(context.Background(), ip, "s", "n", true, true, now)
	}
	if len(d.sources) > testDetection.TrackedSources {
		t.Fatalf("%d sources tracked, cap %d", len(d.sources), testDetection.TrackedSources)
	}
	// Many names from each of many addresses: per-source entries stop at
	// what the rules need, and the running total stays exact.
	for i := range 500 {
		ip := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
		for n := range 300 {
			d.observe(context.Background(), ip, fmt.Sprint("s", n), "n", true, true, now)
		}
	}
	total := 0
	for _, st := range d.sources {
		if len(st.accounts) > st.limit {
			t.Fatalf("a source tracks %d accounts, limit %d", len(st.accounts), st.limit)
		}
		total += len(st.accounts)
	}
	if total != d.entries || total > maxTrackedAccounts {
		t.Fatalf("entries counter %d, actual %d", d.entries, total)
	}
}
