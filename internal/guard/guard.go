// Package guard is the one gate every credential check passes through:
// password grant today, browser sign-in, MFA codes and reset codes as they
// arrive. In pipeline order it
//
//  1. classifies the source of the attempt (device cookie issued to this
//     user, trusted location, familiar network, or unfamiliar),
//  2. atomically takes a slot from the account's budget for that class —
//     a locked or exhausted budget refuses with no hash computed at all,
//  3. verifies the credential inside the bounded hash pool (a dummy hash with
//     the current parameters for unknown names, so they cost the same), and
//  4. settles the slot: a failure counts and may lock, a success resets.
//
// Budgets are keyed on the canonical account (its object ID), never on the
// typed string. Unknown names lock exactly like real accounts, tracked in a
// fixed-size table keyed by an HMAC of the name, so they cost no per-name
// storage and the lock cannot be used to discover which accounts exist.
package guard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/events"
	"github.com/portcullis-idp/portcullis/internal/geo"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// ErrOverloaded means the hash pool refused the attempt; answer quickly with
// a throttling error and Retry-After.
var ErrOverloaded = hashpool.ErrOverloaded

// Store is what the guard needs from storage.
type Store interface {
	store.Tenants
	store.IPBlocks
	store.NamedLocations
	store.Budgets
	store.Lockouts
	store.LockoutPolicies
	store.FamiliarNetworks
	store.Secrets
}

// Config wires a guard.
type Config struct {
	Store            Store
	Pool             *hashpool.Pool
	Params           password.Params
	DefaultPolicy    store.LockoutPolicy
	TrustedLocations []netip.Prefix
	UnknownNameSlots int
	// CacheTTL enables the read cache (single-process backends only; 0 off).
	CacheTTL time.Duration
	// Shared says other instances use the same budgets (a shared state
	// backend): admission then reserves its slots in the stored budget by
	// compare-and-swap instead of in memory, unknown names' budgets live in
	// the store too, and nothing is cached.
	Shared bool
	// SharedUnavailable is what to do while the shared state cannot be
	// reached: UnavailableDefault (""), UnavailableFailClosed or
	// UnavailableLocal.
	SharedUnavailable string
	// DetectionWindows, when set, keeps the attack detector's counting
	// windows where every instance counts (Redis): an attack spread over
	// instances is counted whole. While it cannot be reached the detector
	// counts in process.
	DetectionWindows store.DetectionWindows
	// Metrics, when set, receives the guard's counters.
	Metrics prometheus.Registerer
	// Feeds, Geo and Locations feed the IP verdict; all may be empty.
	Feeds     FeedSource
	Geo       geo.Locator
	Locations []geo.NamedLocation
	Detection DetectionPolicy
	Events    *events.Bus  // may be nil
	Logger    *slog.Logger // may be nil
	Now       func() time.Time
}

// Guard is the credential gate.
type Guard struct {
	store    Store
	pool     *hashpool.Pool
	params   password.Params
	defaults store.LockoutPolicy
	trusted  []netip.Prefix
	unknown  *unknownTable
	events   *events.Bus
	now      func() time.Time
	dummy    string // a hash of a random secret with the current parameters
	macKey   []byte
	inflight inflight
	policies policyCache
	cache    *readCache
	logger   *slog.Logger
	ip       ipProtection
	keyLocks [256]sync.Mutex
	shared   bool
	// While the shared state is down: the policy, local budgets for the
	// attempts it lets through, and when the outage was last logged.
	unavailable           string
	fallback              *unknownTable
	outageMu              sync.Mutex
	outageLogged          time.Time
	detectionOutageLogged time.Time
	outages               *prometheus.CounterVec
}

// New returns a guard.
func New(ctx context.Context, c Config) (*Guard, error) {
	secret := make([]byte, 24)
	_, _ = rand.Read(secret)
	dummy, err := password.Hash(base64.RawStdEncoding.EncodeToString(secret), c.Params)
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	macKey, err := c.Store.Secret(ctx, "guard-hmac", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("guard secret: %w", err)
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	if c.Shared {
		c.CacheTTL = 0 // another instance's lock must count at once
	}
	g := &Guard{store: c.Store, pool: c.Pool, params: c.Params, defaults: c.DefaultPolicy,
		trusted: c.TrustedLocations, unknown: newUnknownTable(max(c.UnknownNameSlots, 1024)), events: c.Events,
		now: now, dummy: dummy, macKey: macKey, inflight: inflight{n: map[string]int{}},
		policies: policyCache{entries: map[string]cachedPolicy{}}, cache: newReadCache(c.CacheTTL),
		ip: ipProtection{feeds: c.Feeds, geo: c.Geo, configLoc: c.Locations}, logger: c.Logger, shared: c.Shared,
		unavailable: c.SharedUnavailable, fallback: newUnknownTable(max(c.UnknownNameSlots, 1024)),
		outages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portcullis_shared_state_unavailable_total",
			Help: "Sign-in attempts met while the shared lockout state (Redis) was unreachable, by what was done: " +
				"refused (throttled) or local (judged against a local budget)."}, []string{"outcome"})}
	if c.Metrics != nil {
		c.Metrics.MustRegister(g.outages)
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	if c.Detection.Window > 0 {
		g.ip.detect = newDetector(c.Detection)
		g.ip.detect.shared = c.DetectionWindows
		g.ip.detect.onError = g.noteDetectionOutage
	}
	if err := g.reloadIP(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// mac is the keyed hash of one secret presented for one subject: enough to
// recognise a repeated typo, useless to anyone reading the database.
func (g *Guard) mac(parts ...string) string {
	m := hmac.New(sha256.New, g.macKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// unknownSubject is the budget subject of a name matching no account.
func (g *Guard) unknownSubject(tenantID, loginKey string) string {
	return "x:" + g.mac("unknown", tenantID, loginKey)
}

// lockFor serialises updates of one budget within this process; the store's
// compare-and-swap protects against other processes.
func (g *Guard) lockFor(key string) *sync.Mutex {
	h := uint8(0)
	for i := 0; i < len(key); i++ {
		h = h*31 + key[i]
	}
	return &g.keyLocks[h]
}

// IsOverloaded reports whether err means the pool refused work.
func IsOverloaded(err error) bool { return errors.Is(err, hashpool.ErrOverloaded) }

// inflight counts admitted attempts not yet settled, per budget. It is
// process-local: a slot exists only while its request does.
type inflight struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *inflight) get(k string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[k]
}

func (f *inflight) add(k string, d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[k] += d; f.n[k] <= 0 {
		delete(f.n, k)
	}
}

// tenants lists tenant IDs (named locations are per tenant).
func (g *Guard) tenants(ctx context.Context) ([]string, error) {
	ts, err := g.store.ListTenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids, nil
}
