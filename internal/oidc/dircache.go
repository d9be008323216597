package oidc

import (
	"context"
	"sync"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Tenants, apps and sign-in names are read on every token request but change
// rarely, so they are cached, "not found" included: floods of unknown client
// IDs, tenants or names cost no database reads. The TTLs bound how long a
// change made elsewhere (the offline CLI) takes to reach the token endpoint;
// users get the shortest, so a disable or password change applies quickly.
const (
	directoryTTL = 5 * time.Second
	userTTL      = time.Second
	// cacheMax bounds each cache; a full cache is emptied and refilled.
	cacheMax = 10000
)

// ttlCache remembers load results (values and not-found) for ttl.
type ttlCache[V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v   V
	err error
	at  time.Time
}

func newTTLCache[V any](ttl time.Duration) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, m: map[string]ttlEntry[V]{}}
}

// get returns the cached answer for key, or loads and caches it. Transient
// errors are returned but never cached.
func (c *ttlCache[V]) get(key string, now time.Time, load func() (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.v, e.err
	}
	v, err := load()
	if err != nil && !isNotFound(err) {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= cacheMax {
		clear(c.m)
	}
	c.m[key] = ttlEntry[V]{v: v, err: err, at: now}
	c.mu.Unlock()
	return v, err
}

// forget drops key after this process changed what it caches.
func (c *ttlCache[V]) forget(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// dirCache holds the provider's caches.
type dirCache struct {
	tenants *ttlCache[store.Tenant]
	apps    *ttlCache[store.App]
	users   *ttlCache[store.User]
}

func newDirCache() dirCache {
	return dirCache{tenants: newTTLCache[store.Tenant](directoryTTL), apps: newTTLCache[store.App](directoryTTL),
		users: newTTLCache[store.User](userTTL)}
}

func (p *Provider) getTenant(ctx context.Context, id string) (store.Tenant, error) {
	return p.dirs.tenants.get("id:"+id, p.now(), func() (store.Tenant, error) { return p.store.GetTenant(ctx, id) })
}

func (p *Provider) tenantByDomain(ctx context.Context, domain string) (store.Tenant, error) {
	return p.dirs.tenants.get("domain:"+domain, p.now(), func() (store.Tenant, error) { return p.store.TenantByDomain(ctx, domain) })
}

func (p *Provider) getApp(ctx context.Context, clientID string) (store.App, error) {
	return p.dirs.apps.get(clientID, p.now(), func() (store.App, error) { return p.store.GetApp(ctx, clientID) })
}

func (p *Provider) userByLogin(ctx context.Context, tenantID, key string) (store.User, error) {
	return p.dirs.users.get(tenantID+"|"+key, p.now(), func() (store.User, error) { return p.store.UserByLogin(ctx, tenantID, key) })
}

// ForgetApp drops an app from the token endpoint's cache after an
// administrative change made in this process (a removed secret, a deleted
// app), so it applies to the very next token request.
func (p *Provider) ForgetApp(clientID string) { p.dirs.apps.forget(clientID) }

// ForgetUser drops a user from the token endpoint's cache after an
// administrative change made in this process (password reset, disable,
// revoked sessions), so it applies to the very next sign-in rather than
// within the cache's TTL.
func (p *Provider) ForgetUser(u store.User) {
	p.dirs.users.forget(u.TenantID + "|" + u.LoginKey)
	if u.MailKey != "" {
		p.dirs.users.forget(u.TenantID + "|" + u.MailKey)
	}
}
