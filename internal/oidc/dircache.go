package oidc

import (
	"context"
	"sync"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// directoryTTL bounds how long a tenant or app change made elsewhere (the
// offline CLI) takes to reach the token endpoint. Tenants and apps change
// rarely and are read on every request, so caching them removes most of
// the database work from refusals under attack.
const directoryTTL = 5 * time.Second

// dirCache caches tenants (by ID and domain) and apps (by client ID),
// including "not found", so floods of unknown client IDs or tenants also
// cost no database reads. Its size is bounded.
type dirCache struct {
	now func() time.Time

	mu      sync.Mutex
	tenants map[string]cachedTenant
	apps    map[string]cachedApp
	users   map[string]cachedUser
}

type cachedTenant struct {
	t   store.Tenant
	err error
	at  time.Time
}

type cachedUser struct {
	u   store.User
	err error
	at  time.Time
}

// userTTL is shorter than directoryTTL: a password change or disable from
// the offline CLI must take effect quickly.
const userTTL = time.Second

type cachedApp struct {
	a   store.App
	err error
	at  time.Time
}

const dirCacheMax = 10000

func newDirCache(now func() time.Time) *dirCache {
	return &dirCache{now: now, tenants: map[string]cachedTenant{}, apps: map[string]cachedApp{}, users: map[string]cachedUser{}}
}

// tenant returns the cached answer of load for key, refreshing it when stale.
func (c *dirCache) tenant(key string, load func() (store.Tenant, error)) (store.Tenant, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.tenants[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < directoryTTL {
		return e.t, e.err
	}
	t, err := load()
	if err != nil && !isNotFound(err) {
		return t, err // transient errors are not cached
	}
	c.mu.Lock()
	if len(c.tenants) >= dirCacheMax {
		clear(c.tenants)
	}
	c.tenants[key] = cachedTenant{t: t, err: err, at: now}
	c.mu.Unlock()
	return t, err
}

func (c *dirCache) app(clientID string, load func() (store.App, error)) (store.App, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.apps[clientID]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < directoryTTL {
		return e.a, e.err
	}
	a, err := load()
	if err != nil && !isNotFound(err) {
		return a, err
	}
	c.mu.Lock()
	if len(c.apps) >= dirCacheMax {
		clear(c.apps)
	}
	c.apps[clientID] = cachedApp{a: a, err: err, at: now}
	c.mu.Unlock()
	return a, err
}

func (p *Provider) getTenant(ctx context.Context, id string) (store.Tenant, error) {
	return p.dirs.tenant("id:"+id, func() (store.Tenant, error) { return p.store.GetTenant(ctx, id) })
}

func (p *Provider) tenantByDomain(ctx context.Context, domain string) (store.Tenant, error) {
	return p.dirs.tenant("domain:"+domain, func() (store.Tenant, error) { return p.store.TenantByDomain(ctx, domain) })
}

func (p *Provider) getApp(ctx context.Context, clientID string) (store.App, error) {
	return p.dirs.app(clientID, func() (store.App, error) { return p.store.GetApp(ctx, clientID) })
}

// user caches sign-in name lookups (found or not) for userTTL, so a flood
// against one name, real or not, costs no database reads.
func (c *dirCache) user(key string, load func() (store.User, error)) (store.User, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.users[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < userTTL {
		return e.u, e.err
	}
	u, err := load()
	if err != nil && !isNotFound(err) {
		return u, err
	}
	c.mu.Lock()
	if len(c.users) >= dirCacheMax {
		clear(c.users)
	}
	c.users[key] = cachedUser{u: u, err: err, at: now}
	c.mu.Unlock()
	return u, err
}

// forgetUser drops a cached user after this process changed it.
func (c *dirCache) forgetUser(key string) {
	c.mu.Lock()
	delete(c.users, key)
	c.mu.Unlock()
}
