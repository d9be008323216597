package guard

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// policyTTL bounds how long a policy change (`portcullis lockout policy set`)
// takes to reach a running server.
const policyTTL = 2 * time.Second

type cachedPolicy struct {
	p  store.LockoutPolicy
	at time.Time
}

type policyCache struct {
	mu      sync.Mutex
	entries map[string]cachedPolicy
}

// Policy returns the tenant's effective policy: its stored override, or the
// configured defaults.
func (g *Guard) Policy(ctx context.Context, tenantID string) (store.LockoutPolicy, error) {
	now := g.now()
	g.policies.mu.Lock()
	c, ok := g.policies.entries[tenantID]
	g.policies.mu.Unlock()
	if ok && now.Sub(c.at) < policyTTL {
		return c.p, nil
	}
	p, err := g.store.GetLockoutPolicy(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		p, err = g.defaults, nil
	}
	if err != nil {
		return p, fmt.Errorf("lockout policy: %w", err)
	}
	g.policies.mu.Lock()
	g.policies.entries[tenantID] = cachedPolicy{p: p, at: now}
	g.policies.mu.Unlock()
	return p, nil
}

// DefaultPolicy is the configured policy, for tenants without their own.
func (g *Guard) DefaultPolicy() store.LockoutPolicy { return g.defaults }

// ValidatePolicy lists every problem of a policy, or returns nil.
func ValidatePolicy(p store.LockoutPolicy) error {
	var errs []error
	if p.Threshold < 1 || p.Threshold > 1000 {
		errs = append(errs, fmt.Errorf("threshold must be from 1 to 1000, got %d", p.Threshold))
	}
	if p.Duration < time.Second {
		errs = append(errs, fmt.Errorf("duration must be at least 1s, got %s", p.Duration))
	}
	if p.MaxDuration < p.Duration {
		errs = append(errs, fmt.Errorf("max_duration must be at least duration (%s), got %s", p.Duration, p.MaxDuration))
	}
	if p.ObservationWindow < time.Second {
		errs = append(errs, fmt.Errorf("observation_window must be at least 1s, got %s", p.ObservationWindow))
	}
	if p.FamiliarNetworkDays < 0 || p.FamiliarNetworkDays > 365 {
		errs = append(errs, fmt.Errorf("familiar_network_days must be from 0 to 365, got %d", p.FamiliarNetworkDays))
	}
	if p.DeviceCookieThreshold < 1 || p.DeviceCookieThreshold > 1000 {
		errs = append(errs, fmt.Errorf("device_cookie_threshold must be from 1 to 1000, got %d", p.DeviceCookieThreshold))
	}
	return errors.Join(errs...)
}

// Source classes.
const (
	ClassUnfamiliar      = "unfamiliar"
	ClassTrustedLocation = "trustedLocation"
	ClassFamiliarNetwork = "familiarNetwork"
	ClassDeviceCookie    = "deviceCookie"
)

// NetworkOf is the network a familiar-network budget covers: the IPv4 /24
// or IPv6 /64 around the address.
func NetworkOf(ip netip.Addr) string {
	ip = ip.Unmap()
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// DeviceCookie is a verified device cookie presented with an attempt: the
// browser sign-in issues it to a user after a successful sign-in, signed and
// revocable. Only a cookie bound to the attempted user counts.
type DeviceCookie struct {
	ID     string
	UserID string
}

// source is a classified attempt: which budget it draws from.
type source struct {
	key       store.BudgetKey
	threshold int
	backend   budgetBackend
	// shared: the backend is shared with other instances, so slots are
	// reserved in it (see shared.go) rather than in memory.
	shared bool
	// lastSuccess is the user's last recorded success from this network,
	// when classify looked it up.
	lastSuccess time.Time
}

// networkTouchInterval: a success from a network recorded less than this
// long ago is not recorded again. Familiarity is measured in days
// (familiar_network_days), so an hour's staleness changes nothing, and a
// user signing in repeatedly costs no database write per sign-in.
const networkTouchInterval = time.Hour

type budgetBackend interface {
	GetBudget(ctx context.Context, key store.BudgetKey) (store.BudgetState, error)
	PutBudget(ctx context.Context, st store.BudgetState) (int64, error)
}

// classify picks the budget. Familiar is earned, never claimed: a device
// cookie must be bound to this user, a network must have seen this user's
// correct password within the policy's days; nothing the client sends
// unsigned makes a source familiar.
func (g *Guard) classify(ctx context.Context, a Attempt, p store.LockoutPolicy) (source, error) {
	src := source{key: store.BudgetKey{TenantID: a.TenantID, Class: ClassUnfamiliar}, threshold: p.Threshold, shared: g.shared}
	if a.User == nil {
		src.key.Subject, src.backend = g.unknownSubject(a.TenantID, a.LoginKey), g.unknown
		if g.shared {
			src.backend = g.store // every instance must see the same unknown-name budgets
		}
	} else {
		src.key.Subject, src.backend = a.User.ID, g.store
	}
	switch {
	case a.User != nil && a.Device != nil && a.Device.UserID == a.User.ID && a.Device.ID != "":
		src.key.Class, src.key.Scope, src.threshold = ClassDeviceCookie, a.Device.ID, p.DeviceCookieThreshold
	case g.isTrusted(a.ClientIP):
		src.key.Class = ClassTrustedLocation
	case a.User != nil && a.ClientIP.IsValid() && p.FamiliarNetworkDays > 0:
		network := NetworkOf(a.ClientIP)
		days := time.Duration(p.FamiliarNetworkDays) * 24 * time.Hour
		last, err := g.lastSuccessFrom(ctx, a.TenantID, a.User.ID, network, g.now().Add(-days))
		if err != nil {
			return src, fmt.Errorf("familiar network: %w", err)
		}
		src.lastSuccess = last
		if !last.IsZero() && g.now().Sub(last) < days {
			src.key.Class, src.key.Scope = ClassFamiliarNetwork, network
		}
	}
	return src, nil
}

func (g *Guard) isTrusted(ip netip.Addr) bool {
	for _, p := range g.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// maxCachedNetworks is how many recent networks of one user are read and
// cached as a set; a user with more falls back to one read per network.
const maxCachedNetworks = 64

// lastSuccessFrom returns the user's last success from network (zero if
// none since the cutoff matters to the caller).
func (g *Guard) lastSuccessFrom(ctx context.Context, tenantID, userID, network string, since time.Time) (time.Time, error) {
	key := tenantID + "|" + userID + "|" + network
	now := g.now()
	if last, ok := g.cache.network(key, now); ok {
		return last, nil
	}
	userKey := tenantID + "|" + userID
	e, ok := g.cache.userNetworks(userKey, since, now)
	if !ok && g.cache.ttl > 0 {
		gen := g.cache.userGeneration(userKey)
		nets, err := g.store.RecentNetworks(ctx, tenantID, userID, since, maxCachedNetworks+1)
		if err != nil {
			return time.Time{}, err
		}
		e, ok = cachedUserNetworks{since: since, at: now}, true
		if len(nets) <= maxCachedNetworks {
			e.nets = make(map[string]time.Time, len(nets))
			for _, n := range nets {
				e.nets[n.Prefix] = n.LastSuccess
			}
		}
		g.cache.putUserNetworks(userKey, e, gen)
	}
	if ok && e.nets != nil {
		return e.nets[network], nil // a network missing from a complete list has no success since the cutoff
	}
	last, err := g.store.NetworkLastSuccess(ctx, tenantID, userID, network)
	if err == nil {
		g.cache.putNetwork(key, last, g.now())
	}
	return last, err
}

// ForgetPolicy drops the tenant's cached policy after this process changed
// it, so the change applies to the next attempt.
func (g *Guard) ForgetPolicy(tenantID string) {
	g.policies.mu.Lock()
	delete(g.policies.entries, tenantID)
	g.policies.mu.Unlock()
}
