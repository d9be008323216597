package guard

import (
	"sync"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// readCache keeps recently read budgets and familiar-network answers so that
// refusing a locked account costs a map lookup, not database reads. It is
// only used with a single-process backend (SQLite), where this process makes
// every change except offline CLI unlocks and policy edits, which therefore
// take effect within the TTL. Every write still goes to the store with
// compare-and-swap; the cache is refreshed from what was written.
type readCache struct {
	ttl time.Duration // 0 disables the cache

	mu       sync.Mutex
	budgets  map[string]cachedBudget
	networks map[string]cachedNetwork
	users    map[string]cachedUserNetworks // tenant|user -> recent networks
	// userGen has a generation per stripe of users, bumped by forgetUser. A
	// list read from the database is cached only if its stripe did not move
	// while it was being read: otherwise a read that began before a new
	// network was recorded could cache the stale list for the whole TTL.
	userGen [64]uint64
}

// userNetworksTTL is longer than the cache's TTL because nothing but this
// process writes familiar networks (the offline CLI never does), and it
// forgets a user's entry whenever it records a new network. Attack traffic
// spread over thousands of accounts then reads each user's networks at most
// once per TTL. Policy changes of familiar_network_days are still honoured
// at once: an entry read with a later cutoff is never used for an earlier
// one.
const userNetworksTTL = 30 * time.Second

// cachedUserNetworks is a user's recent networks, read in one query: a flood
// from many addresses against one account then costs one read per TTL, not
// one per address. nets is nil when the user had too many to keep.
type cachedUserNetworks struct {
	nets  map[string]time.Time
	since time.Time // the cutoff the list was read with
	at    time.Time
}

type cachedBudget struct {
	st store.BudgetState
	at time.Time
}

type cachedNetwork struct {
	last time.Time
	at   time.Time
}

// cacheSweepAt bounds the maps: past this size, stale entries are dropped.
const cacheSweepAt = 1 << 16

func newReadCache(ttl time.Duration) *readCache {
	return &readCache{ttl: ttl, budgets: map[string]cachedBudget{}, networks: map[string]cachedNetwork{},
		users: map[string]cachedUserNetworks{}}
}

func (c *readCache) budget(key string, now time.Time) (store.BudgetState, bool) {
	if c.ttl <= 0 {
		return store.BudgetState{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.budgets[key]
	if !ok || now.Sub(e.at) >= c.ttl {
		return store.BudgetState{}, false
	}
	return e.st, true
}

func (c *readCache) putBudget(key string, st store.BudgetState, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.budgets) >= cacheSweepAt {
		for k, e := range c.budgets {
			if now.Sub(e.at) >= c.ttl {
				delete(c.budgets, k)
			}
		}
	}
	c.budgets[key] = cachedBudget{st: st, at: now}
}

func (c *readCache) network(key string, now time.Time) (time.Time, bool) {
	if c.ttl <= 0 {
		return time.Time{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.networks[key]
	if !ok || now.Sub(e.at) >= c.ttl {
		return time.Time{}, false
	}
	return e.last, true
}

func (c *readCache) putNetwork(key string, last, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.networks) >= cacheSweepAt {
		for k, e := range c.networks {
			if now.Sub(e.at) >= c.ttl {
				delete(c.networks, k)
			}
		}
	}
	c.networks[key] = cachedNetwork{last: last, at: now}
}

// userNetworks returns the cached recent networks of user (key tenant|user)
// if they were read at most a TTL ago with a cutoff no later than since.
func (c *readCache) userNetworks(key string, since, now time.Time) (cachedUserNetworks, bool) {
	if c.ttl <= 0 {
		return cachedUserNetworks{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.users[key]
	if !ok || now.Sub(e.at) >= userNetworksTTL || e.since.After(since) {
		return cachedUserNetworks{}, false
	}
	return e, true
}

// userGeneration returns the stripe generation to pass to putUserNetworks.
func (c *readCache) userGeneration(key string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userGen[stripeOf(key)]
}

func stripeOf(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return int(h % 64)
}

func (c *readCache) putUserNetworks(key string, e cachedUserNetworks, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.userGen[stripeOf(key)] != gen {
		return // a network was recorded meanwhile: this list may be stale
	}
	if len(c.users) >= cacheSweepAt {
		for k, old := range c.users {
			if e.at.Sub(old.at) >= userNetworksTTL {
				delete(c.users, k)
			}
		}
	}
	c.users[key] = e
}

// forgetUser drops a user's cached networks after this process recorded a
// new one.
func (c *readCache) forgetUser(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.users, key)
	c.userGen[stripeOf(key)]++
}
