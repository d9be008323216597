// Package admincenter is the web console administrators troubleshoot and
// remediate in, served under /admin. It is an OIDC client of Portcullis
// itself: an administrator signs in through the hosted pages, and the
// access token obtained is kept in a sealed cookie. Every page reads and
// every action writes through the admin API, called in process with that
// token, so the API's role checks, audit records and ETags apply unchanged;
// the console only hides what the administrator's roles could not use.
// Pages are html/template, complete on their own: every link and form is
// a full round trip that works without script. A vendored copy of htmx,
// loaded from this origin (the Content-Security-Policy allows no inline
// script and no eval), turns them into partial updates: filters redraw the
// results only, a sign-in's details open beside the table, the user search
// answers as one types, and moving between pages swaps the main region.
// The server always renders the whole page; htmx picks out the part.
package admincenter

import (
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/staticfiles"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// ClientID is the built-in admin center app's client ID (a public client
// whose redirect URI is the public URL's /admin/callback).
const ClientID = "5d1f3a7c-0b6e-4c2a-9e8d-3f7a1b2c4d6e"

// CallbackPath is where the sign-in flow returns.
const CallbackPath = "/admin/callback"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets/*
var assetFiles embed.FS

// Config wires the console.
type Config struct {
	// Backend serves the token endpoint and the admin API (the server's
	// own mux): the console calls it in process.
	Backend   http.Handler
	Store     store.Store
	Keys      *oidc.KeySet
	PublicURL string // the issuer base, as apps see it
	TenantID  string
	// CookieKey seals the session cookies (32 bytes, shared by every
	// instance: keep it in the database).
	CookieKey []byte
	Logger    *slog.Logger
	Now       func() time.Time
}

// Center serves /admin.
type Center struct {
	backend   http.Handler
	store     store.Store
	keys      *oidc.KeySet
	publicURL string
	tenantID  string
	secure    bool
	sealer    *sealer
	pages     *template.Template
	static    *staticfiles.Files // assets/, under /admin/assets/
	logger    *slog.Logger
	now       func() time.Time
}

// New builds the console.
func New(c Config) (*Center, error) {
	s, err := newSealer(c.CookieKey)
	if err != nil {
		return nil, err
	}
	ac := &Center{backend: c.Backend, store: c.Store, keys: c.Keys, publicURL: strings.TrimRight(c.PublicURL, "/"),
		tenantID: c.TenantID, secure: strings.HasPrefix(c.PublicURL, "https://"), sealer: s, logger: c.Logger, now: c.Now}
	if ac.now == nil {
		ac.now = time.Now
	}
	if ac.logger == nil {
		ac.logger = slog.New(slog.DiscardHandler)
	}
	if ac.static, err = staticfiles.New(assetFiles, "assets", "/admin/assets/"); err != nil {
		return nil, err
	}
	ac.pages, err = template.New("").Funcs(funcs).Funcs(template.FuncMap{"asset": ac.static.Asset}).
		ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("admin center templates: %w", err)
	}
	return ac, nil
}

// Register adds the console's routes to mux.
func (c *Center) Register(mux *http.ServeMux) {
	mux.Handle("GET /admin/assets/", c.static)
	mux.HandleFunc("GET /admin/signin", c.signIn)
	mux.HandleFunc("GET "+CallbackPath, c.callback)
	mux.HandleFunc("POST /admin/signout", c.signOut)
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusFound)
	})
	mux.HandleFunc("GET /admin/{$}", c.page(c.overviewPage))
	mux.HandleFunc("GET /admin/signins", c.page(c.signInsPage))
	mux.HandleFunc("GET /admin/signins/{id}", c.page(c.signInPage))
	mux.HandleFunc("GET /admin/export/signins/{format}", c.page(c.signInsExport))
	mux.HandleFunc("GET /admin/audits", c.page(c.auditsPage))
	mux.HandleFunc("GET /admin/protection", c.page(c.protectionPage))
	mux.HandleFunc("POST /admin/protection/{action}", c.page(c.protectionAction))
	mux.HandleFunc("POST /admin/protection/{action}/{id}", c.page(c.protectionAction))
	mux.HandleFunc("GET /admin/users", c.page(c.usersPage))
	mux.HandleFunc("GET /admin/users/{id}", c.page(c.userPage))
	mux.HandleFunc("POST /admin/users/{id}/{action}", c.page(c.userAction))
}

// viewer is the signed-in administrator on one request.
type viewer struct {
	session
	roles []string
}

// can reports whether the viewer's roles grant p: what the console shows.
// The API decides again on every call.
func (v *viewer) can(p rbac.Permission) bool { return rbac.Allowed(v.roles, p) }

// page wraps a handler that needs a signed-in administrator: without a
// valid session the browser is sent to sign in, and back here after.
func (c *Center) page(h func(w http.ResponseWriter, r *http.Request, v *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		v, err := c.viewer(r)
		if err != nil {
			c.sendToSignIn(w, r)
			return
		}
		h(w, r, v)
	}
}

// sendToSignIn answers a request without a valid session (none yet, timed
// out, or revoked). A browser is redirected to sign in and back; an htmx
// request is told to navigate the whole window instead, since following
// the redirect itself would draw the sign-in page inside the console's.
// That answer is a 204: an error status would be logged to the browser's
// console as a failed load, though nothing failed.
func (c *Center) sendToSignIn(w http.ResponseWriter, r *http.Request) {
	back := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		back = "/admin/"
		if u, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && u.Path != "" {
			back = safeReturn(u.RequestURI())
		}
	}
	target := "/admin/signin?return=" + urlQueryEscape(back)
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// isHTMX reports whether htmx sent r (a partial update, not a navigation).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// viewer reads and checks the session: the cookie must open, and its token
// must still verify (signature, expiry): the token's expiry is the
// session's timeout.
func (c *Center) viewer(r *http.Request) (*viewer, error) {
	var s session
	if err := c.readCookie(r, sessionCookie, &s); err != nil {
		return nil, err
	}
	if !c.now().Before(s.Expires) {
		return nil, fmt.Errorf("session expired")
	}
	claims, err := oidc.VerifyAccessToken(r.Context(), c.keys, c.publicURL, s.Token, c.now())
	if err != nil {
		return nil, err
	}
	if claims.TenantID != c.tenantID || claims.ObjectID != s.UserID {
		return nil, fmt.Errorf("session of another principal")
	}
	// As the API decides (so that a session it would refuse is sent to
	// sign in, not drawn with every part refused): a disabled account, or
	// one whose sessions were revoked after the token was issued, has no
	// session.
	u, err := c.store.GetUser(r.Context(), c.tenantID, s.UserID)
	if err != nil {
		return nil, fmt.Errorf("read the administrator: %w", err)
	}
	if !u.AccountEnabled || claims.IssuedAt == nil || claims.IssuedAt.Time().Before(u.SignInSessionsValidFrom) {
		return nil, fmt.Errorf("session revoked")
	}
	v := &viewer{session: s}
	assignments, err := c.store.ListRoleAssignments(r.Context(), c.tenantID, s.UserID)
	if err != nil {
		return nil, err
	}
	for _, a := range assignments {
		v.roles = append(v.roles, a.RoleDefinitionID)
	}
	return v, nil
}

// noStore keeps console pages out of caches and sets their policy:
// scripts, styles, images and requests from this origin only (no inline
// script, no eval), forms posting only here.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

// render writes a page, or a plain error if the template fails.
func (c *Center) render(w http.ResponseWriter, status int, name string, data any) {
	var buf strings.Builder
	if err := c.pages.ExecuteTemplate(&buf, name, data); err != nil {
		c.logger.Error("admin center template failed", "template", name, "error", err)
		// A page of its own, drawn over the console's main region when
		// htmx asked, so no region is swapped away for nothing.
		redrawWholeAlways(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`<!DOCTYPE html><html lang="en"><title>Error - Portcullis admin center</title>` +
			`<main id="main" tabindex="-1" data-swap-focus><h1>The page could not be drawn.</h1>` +
			`<p><a href="/admin/">Back to the admin center</a></p></main></html>`))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}
