package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/webui"
)

// BrowserConfig configures browser sign-in.
type BrowserConfig struct {
	RevealLockout        bool
	SessionLifetime      time.Duration // without "stay signed in"
	PersistentLifetime   time.Duration // with it
	DeviceCookieLifetime time.Duration
	BrandingName         string // "" = the tenant's name
	LogoURL              string // "" = none
}

func (c BrowserConfig) withDefaults() BrowserConfig {
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 24 * time.Hour
	}
	if c.PersistentLifetime <= 0 {
		c.PersistentLifetime = 90 * 24 * time.Hour
	}
	if c.DeviceCookieLifetime <= 0 {
		c.DeviceCookieLifetime = 365 * 24 * time.Hour
	}
	return c
}

// Cookie names. The device cookie's name carries a keyed hash of the user,
// so one browser keeps one per person who signed in on it and the names say
// nothing about who.
const (
	sessionCookie      = "pc_session"
	csrfCookie         = "pc_csrf"
	deviceCookiePrefix = "pc_dev_"
	// flowLifetime bounds how long a sign-in page may be left open.
	flowLifetime = 15 * time.Minute
	// codeLifetime is an authorization code's lifetime (Entra: 10 minutes).
	codeLifetime = 5 * time.Minute
)

// authFlow is an authorization request that passed validation, carried
// through the sign-in pages in a signed form field instead of server state.
type authFlow struct {
	TenantID      string `json:"t"`
	ClientID      string `json:"c"`
	RedirectURI   string `json:"r"`
	ResponseMode  string `json:"m"`
	State         string `json:"s,omitempty"`
	Nonce         string `json:"n,omitempty"`
	Scope         string `json:"sc"`
	CodeChallenge string `json:"cc,omitempty"`
	LoginHint     string `json:"h,omitempty"`
	Expires       int64  `json:"e"`
	// Set on the password change step: the user whose current password was
	// verified at Verified, and whether they asked to stay signed in.
	UserID   string `json:"u,omitempty"`
	Verified int64  `json:"v,omitempty"`
	// PasswordSet is the verified password's LastPasswordChangeDateTime
	// (Unix µs): the change page works for that password only, once.
	PasswordSet int64 `json:"pw,omitempty"`
	KMSI        bool  `json:"k,omitempty"`
}

// mac is an HMAC of parts under the provider's browser key.
func (p *Provider) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, p.browserKey)
	for _, part := range parts {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func (p *Provider) sealFlow(f authFlow) string {
	b, _ := json.Marshal(f)
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(p.mac("flow", body))
}

var errFlowExpired = errors.New("the sign-in page expired")

func (p *Provider) openFlow(sealed string) (authFlow, error) {
	var f authFlow
	body, sig, ok := strings.Cut(sealed, ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(got, p.mac("flow", body)) {
		return f, errors.New("the sign-in form was not issued by this server")
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(raw, &f) != nil {
		return f, errors.New("the sign-in form is damaged")
	}
	if p.now().Unix() > f.Expires {
		return f, errFlowExpired
	}
	return f, nil
}

// csrfToken is the form value matching the browser's CSRF cookie, which it
// sets when missing. A cross-site form post carries no cookie (SameSite=Lax)
// and so no matching value: this also stops login CSRF, where an attacker
// signs the victim's browser into the attacker's account.
func (p *Provider) csrfToken(w http.ResponseWriter, r *http.Request) string {
	value := p.readCookie(r, csrfCookie)
	if len(value) < 32 {
		b, _ := randomBytes32()
		value = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, p.cookie(csrfCookie, value, 0))
	}
	return base64.RawURLEncoding.EncodeToString(p.mac("csrf", value))
}

func (p *Provider) checkCSRF(r *http.Request, token string) bool {
	value := p.readCookie(r, csrfCookie)
	if value == "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, p.mac("csrf", value))
}

// cookieName is name with the __Host- prefix when the site is https: a
// browser then accepts the cookie only from this very host, Secure, for
// the whole path, so a sibling subdomain or a plain-http response cannot
// plant one (a planted CSRF or session cookie would allow login CSRF).
func (p *Provider) cookieName(name string) string {
	if strings.HasPrefix(p.publicURL, "https://") {
		return "__Host-" + name
	}
	return name
}

// readCookie is the value of the site's cookie name ("" when absent).
func (p *Provider) readCookie(r *http.Request, name string) string {
	c, err := r.Cookie(p.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// cookie is a host-only, HttpOnly, SameSite=Lax cookie for the whole site,
// Secure (and __Host-) when the public URL is https; maxAge 0 makes it a
// session cookie, negative deletes it.
func (p *Provider) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{Name: p.cookieName(name), Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(p.publicURL, "https://")}
	switch {
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	case maxAge < 0:
		c.MaxAge = -1
	}
	return c
}

func hashValue(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// currentSession is the browser's valid SSO session in tenantID with its
// user, or nil: unknown, expired or revoked sessions, sessions older than the
// user's last password change or session revocation, and disabled users all
// count as none.
func (p *Provider) currentSession(ctx context.Context, r *http.Request, tenantID string) (*store.Session, *store.User) {
	value := p.readCookie(r, sessionCookie)
	if value == "" {
		return nil, nil
	}
	s, err := p.store.GetSession(ctx, hashValue(value))
	now := p.now()
	if err != nil || s.TenantID != tenantID || !s.RevokedAt.IsZero() || now.After(s.ExpiresAt) {
		return nil, nil
	}
	u, err := p.store.GetUser(ctx, tenantID, s.UserID)
	if err != nil || !u.AccountEnabled || u.ForceChangePasswordNextSignIn || !grantStillValid(s.CreatedAt, u) {
		return nil, nil
	}
	return &s, &u
}

// grantStillValid reports whether something issued at issued (a session, a
// refresh token, a code's sign-in) survives the user's later password
// change and session revocation.
func grantStillValid(issued time.Time, u store.User) bool {
	return !issued.Before(u.SignInSessionsValidFrom) && !issued.Before(u.LastPasswordChangeDateTime)
}

// startSession stores a new SSO session and sets its cookie.
func (p *Provider) startSession(ctx context.Context, w http.ResponseWriter, u store.User, persistent bool) (store.Session, error) {
	b, err := randomBytes32()
	if err != nil {
		return store.Session{}, err
	}
	value := base64.RawURLEncoding.EncodeToString(b)
	life := p.browser.SessionLifetime
	if persistent {
		life = p.browser.PersistentLifetime
	}
	now := p.now().UTC()
	s := store.Session{ID: hashValue(value), TenantID: u.TenantID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(life),
		Persistent: persistent}
	if err := p.store.CreateSession(ctx, s); err != nil {
		return s, err
	}
	maxAge := time.Duration(0) // a browser-session cookie without "stay signed in"
	if persistent {
		maxAge = life
	}
	http.SetCookie(w, p.cookie(sessionCookie, value, maxAge))
	return s, nil
}

func (p *Provider) deviceCookieName(tenantID, userID string) string {
	return deviceCookiePrefix + hex.EncodeToString(p.mac("device-name", tenantID, userID)[:8])
}

// deviceCookieFor is the user's valid device cookie in this browser, or nil.
// The value is the cookie's ID and a MAC binding it to the user, so a cookie
// cannot be moved to another account; revoked cookies count for nothing.
func (p *Provider) deviceCookieFor(ctx context.Context, r *http.Request, u *store.User) *guard.DeviceCookie {
	if u == nil {
		return nil
	}
	id, sig, ok := strings.Cut(p.readCookie(r, p.deviceCookieName(u.TenantID, u.ID)), ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(got, p.mac("device", id, u.TenantID, u.ID)) {
		return nil
	}
	d, err := p.store.GetDeviceCookie(ctx, id)
	if err != nil || !d.RevokedAt.IsZero() || d.UserID != u.ID || d.TenantID != u.TenantID ||
		p.now().Sub(d.CreatedAt) > p.browser.DeviceCookieLifetime {
		return nil
	}
	return &guard.DeviceCookie{ID: d.ID, UserID: d.UserID}
}

// issueDeviceCookie gives the browser a device cookie for u unless it holds
// a valid one.
func (p *Provider) issueDeviceCookie(ctx context.Context, w http.ResponseWriter, r *http.Request, u store.User) error {
	if p.deviceCookieFor(ctx, r, &u) != nil {
		return nil
	}
	d := store.DeviceCookie{ID: uuid.NewString(), TenantID: u.TenantID, UserID: u.ID, CreatedAt: p.now().UTC()}
	if err := p.store.CreateDeviceCookie(ctx, d); err != nil {
		return err
	}
	value := d.ID + "." + base64.RawURLEncoding.EncodeToString(p.mac("device", d.ID, u.TenantID, u.ID))
	http.SetCookie(w, p.cookie(p.deviceCookieName(u.TenantID, u.ID), value, p.browser.DeviceCookieLifetime))
	return nil
}

// branding is what the pages show for tenant.
func (p *Provider) branding(t store.Tenant) webui.Branding {
	name := p.browser.BrandingName
	if name == "" {
		name = t.DisplayName
	}
	return webui.Branding{Name: name, LogoURL: p.browser.LogoURL}
}

// pageCSP is the hosted pages' Content-Security-Policy: the stylesheet and
// logo from this origin, forms posting back here, nothing else.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// formPageCSP is pageCSP for a page whose form ends, through the server's
// redirect, at the app: browsers apply form-action to the redirect target
// too, so the app's origin is allowed as well.
func formPageCSP(redirectURI string) string {
	return strings.Replace(pageCSP, "form-action 'self'", "form-action 'self' "+originOf(redirectURI), 1)
}
