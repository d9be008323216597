package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
)

const (
	lockedUser   = 0
	blockedUser  = 1
	blockedIP    = "203.0.113.77" // blocked with `portcullis ips block` before the server starts
	expectedCode = "AADSTS50053"
)

// runRefusals measures how cheaply the server refuses a locked account and a
// blocked address: wrong passwords from many simulated addresses, each with
// its own random client-request-id (as MSAL sends), at concurrency 64.
func runRefusals(ctx context.Context, e *Env) (*ScenarioResult, error) {
	sz := e.Sizes
	r := &ScenarioResult{Name: ScenarioRefusals, Loads: map[string]*Stats{}, Params: map[string]any{
		"users": sz.Users, "concurrency": sz.RefusalConc, "secondsPerVariant": sz.RefusalTime.Seconds(),
		"maxRequestsPerVariant": sz.RefusalMax, "lockoutThreshold": 1, "blockedAddress": blockedIP,
		"sources": "locked: random X-Forwarded-For in 10.0.0.0/8; blocked-ip: " + blockedIP,
		"note":    "both variants run against the same server, locked account first"}}
	dir, err := e.newDataDir(ctx, "refusals", sz.Users)
	if err != nil {
		return r, err
	}
	if err := e.portcullis(ctx, "ips", "block", blockedIP, "--data", dir, "--reason", "benchmark"); err != nil {
		return r, err
	}
	srv, err := e.startServer(ctx, dir, "PORTCULLIS_LOCKOUT__THRESHOLD=1", "PORTCULLIS_LOCKOUT__DURATION=30m")
	if err != nil {
		return r, err
	}
	defer srv.Stop()
	if err := lockAccount(ctx, srv); err != nil {
		return r, err
	}
	variants := []struct {
		name string
		next func(rng *rand.Rand, i int64) Request
	}{
		{"locked", func(rng *rand.Rand, _ int64) Request {
			return Request{Body: passwordBody(userName(lockedUser), "wrong-password-1"), XFF: randomIPv4In10(rng), CorrelationID: randomGUID(rng)}
		}},
		{"blocked-ip", func(rng *rand.Rand, _ int64) Request {
			return Request{Body: passwordBody(userName(blockedUser), "wrong-password-1"), XFF: blockedIP, CorrelationID: randomGUID(rng)}
		}},
	}
	for _, v := range variants {
		e.logf("refusals: %s, concurrency %d, up to %s", v.name, sz.RefusalConc, sz.RefusalTime)
		st := Load{Name: "refusals-" + v.name, Addr: srv.Addr, Path: TokenPath, Concurrency: sz.RefusalConc,
			MaxRequests: sz.RefusalMax, Duration: sz.RefusalTime, Next: v.next}.Run(ctx)
		r.Loads[v.name] = st
		r.atLeast(v.name+": refusals/s", st.PerSecond, "/s", 10_000)
		r.add(v.name+": p50", st.P50Ms, "ms")
		r.below(v.name+": p99", st.P99Ms, "ms", 25)
		share := 0.0
		if st.Answered > 0 {
			share = 100 * float64(st.Codes[expectedCode]) / float64(st.Answered)
		}
		r.add(v.name+": answers that were "+expectedCode, share, "%")
		if st.TransportErrors > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %d transport errors", v.name, st.TransportErrors))
		}
	}
	return r, nil
}

// lockAccount sends one wrong password (threshold 1 locks the unfamiliar
// budget) and checks that the next attempt is refused with AADSTS50053.
func lockAccount(ctx context.Context, srv *Server) error {
	body := passwordBody(userName(lockedUser), "wrong-password-0")
	first := once(ctx, srv, Request{Body: body, XFF: "10.200.0.1"})
	if first.Status["400"] != 1 {
		return fmt.Errorf("locking wrong password: status %v codes %v", first.Status, first.Codes)
	}
	check := once(ctx, srv, Request{Body: body, XFF: "10.200.0.2"})
	if check.Codes[expectedCode] != 1 {
		return fmt.Errorf("account not locked after one wrong password: status %v codes %v", check.Status, check.Codes)
	}
	return nil
}
