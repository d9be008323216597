// Package adminapi is Portcullis's administrative API: Microsoft Graph's
// paths and JSON shapes where Graph has them, Portcullis-specific resources
// under /v1.0/portcullis/. Every route is registered from the table in
// internal/rbac, so none can exist without a permission; every caller is a
// principal authenticated by a Portcullis-issued bearer token, whose roles
// are read from the directory on each request (removing a role takes effect
// at once). Every change, and every refused attempt at one, is written to
// the audit log.
package adminapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/ipintel"
	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Config wires the API.
type Config struct {
	Store     store.Store
	Keys      *oidc.KeySet
	PublicURL string // issuer base, as the token endpoint uses it
	Guard     *guard.Guard
	Directory *directory.Service
	Feeds     *ipintel.Feeds // may be nil
	// UserChanged is told about every user the API changed, so caches
	// elsewhere in the process (the token endpoint's) drop it at once.
	UserChanged func(store.User)
	// AppChanged is the same for app registrations (by client ID).
	AppChanged func(clientID string)
	// UserRetentionDays is how far back people see their own sign-ins
	// (default 30).
	UserRetentionDays int
	// KeyOverlap is how long a rotated-out signing key stays published:
	// the longest token lifetime plus a margin.
	KeyOverlap time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// API serves the admin routes.
type API struct {
	store             store.Store
	keys              *oidc.KeySet
	publicURL         string
	guard             *guard.Guard
	dir               *directory.Service
	feeds             *ipintel.Feeds
	changed           func(store.User)
	appChanged        func(clientID string)
	keyOverlap        time.Duration
	userRetentionDays int
	logger            *slog.Logger
	now               func() time.Time
	handlers          map[string]handler
	refused           seenSet       // token IDs whose refusal is already audited
	importing         chan struct{} // one user import at a time
	summaries         *summaryCache
}

// handler serves one route for an authenticated, authorised principal.
type handler func(w http.ResponseWriter, r *http.Request, p *principal)

// New builds the API.
func New(c Config) *API {
	a := &API{store: c.Store, keys: c.Keys, publicURL: c.PublicURL, guard: c.Guard, dir: c.Directory, feeds: c.Feeds, changed: c.UserChanged, appChanged: c.AppChanged, keyOverlap: c.KeyOverlap, userRetentionDays: c.UserRetentionDays, logger: c.Logger, now: c.Now}
	a.summaries = newSummaryCache()
	if a.now == nil {
		a.now = time.Now
	}
	a.refused.max = 10000
	a.importing = make(chan struct{}, 1)
	if a.changed == nil {
		a.changed = func(store.User) {}
	}
	if a.userRetentionDays <= 0 {
		a.userRetentionDays = 30
	}
	if a.keyOverlap <= 0 {
		a.keyOverlap = 24 * time.Hour
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	a.handlers = map[string]handler{
		"GET /v1.0/me":                               a.getMe,
		"GET /v1.0/portcullis/me/signIns":            a.listMySignIns,
		"GET /v1.0/users":                            a.listUsers,
		"POST /v1.0/users":                           a.createUser,
		"GET /v1.0/users/{id}":                       a.getUser,
		"DELETE /v1.0/users/{id}":                    a.deleteUser,
		"PATCH /v1.0/users/{id}":                     a.patchUser,
		"POST /v1.0/users/{id}/revokeSignInSessions": a.revokeSessions,
		"POST /v1.0/identityProtection/riskyUsers/confirmCompromised":                              a.confirmCompromised,
		"POST /v1.0/users/{id}/authentication/methods/" + rbac.PasswordMethodID + "/resetPassword": a.resetPassword,
		"GET /v1.0/roleManagement/directory/roleDefinitions":                                       a.listRoleDefinitions,
		"GET /v1.0/roleManagement/directory/roleAssignments":                                       a.listRoleAssignments,
		"POST /v1.0/roleManagement/directory/roleAssignments":                                      a.createRoleAssignment,
		"DELETE /v1.0/roleManagement/directory/roleAssignments/{id}":                               a.deleteRoleAssignment,
		"GET /v1.0/applications":                                      a.listApps,
		"POST /v1.0/applications":                                     a.createApp,
		"GET /v1.0/applications/{id}":                                 a.getApp,
		"PATCH /v1.0/applications/{id}":                               a.updateApp,
		"DELETE /v1.0/applications/{id}":                              a.deleteApp,
		"POST /v1.0/applications/{id}/addPassword":                    a.addAppPassword,
		"POST /v1.0/applications/{id}/removePassword":                 a.removeAppPassword,
		"GET /v1.0/auditLogs/signIns":                                 a.listSignIns,
		"GET /v1.0/auditLogs/signIns/{id}":                            a.getSignIn,
		"GET /v1.0/portcullis/signIns/export":                         a.exportSignIns,
		"GET /v1.0/portcullis/signIns/summary":                        a.summarizeSignIns,
		"GET /v1.0/portcullis/diagnose":                               a.diagnoseUser,
		"GET /v1.0/auditLogs/directoryAudits":                         a.listAudits,
		"GET /v1.0/portcullis/lockoutPolicy":                          a.getPolicy,
		"PATCH /v1.0/portcullis/lockoutPolicy":                        a.patchPolicy,
		"GET /v1.0/portcullis/passwordPolicy":                         a.getPasswordPolicy,
		"PATCH /v1.0/portcullis/passwordPolicy":                       a.patchPasswordPolicy,
		"GET /v1.0/portcullis/signingKeys":                            a.listSigningKeys,
		"POST /v1.0/portcullis/signingKeys/rotate":                    a.rotateSigningKeys,
		"POST /v1.0/portcullis/users/import":                          a.importUsers,
		"GET /v1.0/identity/conditionalAccess/namedLocations":         a.listLocations,
		"POST /v1.0/identity/conditionalAccess/namedLocations":        a.createLocation,
		"DELETE /v1.0/identity/conditionalAccess/namedLocations/{id}": a.deleteLocation,
		"GET /v1.0/portcullis/feeds":                                  a.listFeeds,
		"POST /v1.0/portcullis/feeds/refresh":                         a.refreshFeeds,
		"GET /v1.0/portcullis/ips/{ip}":                               a.checkIP,
		"GET /v1.0/portcullis/ipBlocks":                               a.listBlocks,
		"POST /v1.0/portcullis/ipBlocks":                              a.createBlock,
		"DELETE /v1.0/portcullis/ipBlocks/{id}":                       a.deleteBlock,
		"GET /v1.0/portcullis/users/{id}/lockout":                     a.getLockout,
		"POST /v1.0/portcullis/users/{id}/lockout/unlock":             a.unlock,
	}
	return a
}

// Register adds every route of rbac.Routes to mux. A route without a
// handler, or a handler without a route, is a programming error caught by
// the tests: it panics.
func (a *API) Register(mux *http.ServeMux) {
	used := map[string]bool{}
	for _, route := range rbac.Routes {
		key := route.Method + " " + route.Pattern
		h, ok := a.handlers[key]
		if !ok {
			panic(fmt.Sprintf("adminapi: route %s has no handler", key))
		}
		used[key] = true
		mux.Handle(key, a.guarded(route, h))
	}
	for key := range a.handlers {
		if !used[key] {
			panic(fmt.Sprintf("adminapi: handler %s is not in the rbac route table", key))
		}
	}
	// Anything else under /v1.0/ is Graph's "resource not found", not the
	// token endpoint's error page.
	mux.HandleFunc("/v1.0/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, codeNotFound, "Resource not found for the segment '"+r.URL.Path+"'.")
	})
}

// guarded authenticates the caller and checks the route's permission
// before running h. Refused changes are audited.
func (a *API) guarded(route rbac.Route, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, codeInvalidToken, err.Error())
			return
		}
		if route.Permission != "" && !rbac.Allowed(p.roles, route.Permission) {
			// One record per principal, route and minute: a principal
			// hammering a forbidden route must not turn into a stream of
			// durable writes.
			key := p.id + " " + route.Method + " " + route.Pattern + " " + a.now().UTC().Format("2006-01-02T15:04")
			if r.Method != http.MethodGet && a.refused.firstTime(key) {
				a.auditDenied(r, p, route, "the caller's roles do not grant "+string(route.Permission))
			}
			writeError(w, r, http.StatusForbidden, codeDenied, "Insufficient privileges to complete the operation.")
			return
		}
		h(w, r, p)
	})
}

// ctxDetached keeps request values but not cancellation: an acknowledged
// change must get its audit record even if the client hangs up.
func ctxDetached(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }

// contextWithTimeout bounds work a request starts (a feed download) by d,
// detached from the client so an impatient client cannot leave it half done.
func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctxDetached(r), d)
}
