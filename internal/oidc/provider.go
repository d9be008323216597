// Package oidc is the protocol layer: OpenID Connect discovery, the key set,
// the token endpoint with one small function per grant type, and the MSAL
// user-realm endpoint, all on Entra's paths and in Entra's error format.
//
// A token request flows: strict form parsing -> tenant from the path ->
// client authentication -> the grant (which, for passwords, goes through the
// guard) -> tokens or an AADSTS error -> a sign-in log record committed
// before the response is written.
//
// Entra matches its path words case-insensitively (MSAL calls
// /common/UserRealm/...), so routing lower-cases everything after the tenant
// segment before matching.
package oidc

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Store is what the protocol layer reads and writes.
type Store interface {
	store.Tenants
	store.Users
	store.Apps
	store.RefreshTokens
	store.Secrets
	store.RoleAssignments
	store.AuthCodes
	store.Sessions
}

// SignInLog receives one record per attempt, durably.
type SignInLog interface {
	Write(ctx context.Context, rec signinlog.Record) error
}

// Lifetimes of issued tokens.
type Lifetimes struct {
	Access, ID, Refresh time.Duration
}

// Config is the provider's wiring.
type Config struct {
	PublicURL string // no trailing slash
	Lifetimes Lifetimes
	Store     Store
	Directory *directory.Service
	Keys      *KeySet
	Guard     *guard.Guard
	SignInLog SignInLog
	Logger    *slog.Logger
	Browser   BrowserConfig
	Metrics   prometheus.Registerer // may be nil
	Now       func() time.Time      // nil = time.Now
}

// Provider serves the protocol endpoints.
type Provider struct {
	publicURL  string
	lifetimes  Lifetimes
	store      Store
	dir        *directory.Service
	keys       *KeySet
	guard      *guard.Guard
	log        SignInLog
	logger     *slog.Logger
	now        func() time.Time
	attempts   *prometheus.CounterVec
	dirs       dirCache
	subjectKey []byte
	browser    BrowserConfig
	browserKey []byte // MACs of sign-in forms, CSRF tokens and device cookies
}

// New builds a provider.
func New(ctx context.Context, c Config) (*Provider, error) {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	subjectKey, err := c.Store.Secret(ctx, "oidc-pairwise-subject", randomBytes32)
	if err != nil {
		return nil, err
	}
	browserKey, err := c.Store.Secret(ctx, "oidc-browser", randomBytes32)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		publicURL: strings.TrimSuffix(c.PublicURL, "/"), lifetimes: c.Lifetimes, store: c.Store, dir: c.Directory,
		keys: c.Keys, guard: c.Guard, log: c.SignInLog, logger: c.Logger, now: now, subjectKey: subjectKey, dirs: newDirCache(),
		browser: c.Browser.withDefaults(), browserKey: browserKey,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_signin_attempts_total", Help: "Token requests by result and AADSTS error code (0 = success).",
		}, []string{"result", "error_code"}),
	}
	if c.Metrics != nil {
		c.Metrics.MustRegister(p.attempts)
	}
	return p, nil
}

// ServeHTTP routes /{tenant}/... protocol paths; anything else is 404.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	lower := strings.ToLower(rest)
	switch {
	case lower == "oauth2/v2.0/token":
		p.token(w, r, tenant)
	case lower == "oauth2/v2.0/authorize":
		p.authorize(w, r, tenant)
	case lower == "login":
		p.signInPost(w, r, tenant)
	case lower == "login/password":
		p.changePasswordPost(w, r, tenant)
	case lower == "oauth2/v2.0/logout":
		p.endSession(w, r, tenant)
	case tenant == "oidc" && lower == "userinfo":
		p.userinfo(w, r)
	case lower == "v2.0/.well-known/openid-configuration":
		p.discovery(w, r, tenant)
	case lower == "discovery/v2.0/keys":
		p.jwks(w, r, tenant)
	case strings.HasPrefix(lower, "userrealm/") && strings.EqualFold(tenant, "common"):
		p.userRealm(w, r, rest[len("userrealm/"):])
	default:
		http.NotFound(w, r)
	}
}
