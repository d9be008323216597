package app_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// browser is a cookie-keeping HTTP client that stops at the app's redirect
// URI, as a browser would hand the response to the app.
type browser struct {
	t      testing.TB
	client *http.Client
	ip     string // X-Forwarded-For, when the server trusts the test client as a proxy
}

func newBrowser(t testing.TB, ip string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, ip: ip}
	b.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b
}

// page is an answer: status, Location, body.
type page struct {
	status   int
	location *url.URL
	body     string
	header   http.Header
}

func (b *browser) do(method, target string, form url.Values) page {
	b.t.Helper()
	return b.doWith(method, target, form, nil)
}

// doWith is do with extra request headers (htmx's, say).
func (b *browser) doWith(method, target string, form url.Values, headers http.Header) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.ip != "" {
		req.Header.Set("X-Forwarded-For", b.ip)
	}
	for k, vs := range headers {
		req.Header[k] = vs
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, body: string(raw), header: resp.Header}
	if loc := resp.Header.Get("Location"); loc != "" {
		p.location, _ = resp.Location()
	}
	return p
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="(flow|csrf)" value="([^"]*)">`)
var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)

// submit posts the page's form with fields added.
func (b *browser) submit(base string, p page, fields url.Values) page {
	b.t.Helper()
	action := formAction.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || action == nil {
		b.t.Fatalf("no form to submit: %d %.300s", p.status, p.body)
	}
	for _, m := range hiddenField.FindAllStringSubmatch(p.body, -1) {
		fields.Set(m[1], html.UnescapeString(m[2]))
	}
	return b.do("POST", base+html.UnescapeString(action[1]), fields)
}

// codeFlow is a registered web app with its OAuth 2 configuration.
type codeFlow struct {
	ts       *testServer
	conf     *oauth2.Config
	provider *oidc.Provider
}

func newCodeFlow(t *testing.T, ts *testServer, public bool, redirect string) *codeFlow {
	t.Helper()
	ctx := context.Background()
	app, secret, err := ts.dir.AddApp(ctx, ts.tenant, directory.NewApp{Name: "Expenses", Public: public,
		RedirectURIs: []string{redirect}})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(ctx, ts.base+"/"+ts.tenant.ID+"/v2.0")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := &oauth2.Config{ClientID: app.ClientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}}
	return &codeFlow{ts: ts, conf: conf, provider: provider}
}

// signIn runs the browser flow to the app's redirect and returns it.
func (f *codeFlow) signIn(b *browser, user, pw string, opts ...oauth2.AuthCodeOption) (page, page) {
	b.t.Helper()
	start := b.do("GET", f.conf.AuthCodeURL("st-1", opts...), nil)
	if start.status != http.StatusOK {
		return start, page{}
	}
	return start, b.submit(f.ts.base, start, url.Values{"username": {user}, "password": {pw}})
}

func mustCode(t *testing.T, p page, state string) string {
	t.Helper()
	if p.status != http.StatusFound || p.location == nil || p.location.Query().Get("code") == "" {
		t.Fatalf("no code: %d %v %.400s", p.status, p.location, p.body)
	}
	if got := p.location.Query().Get("state"); got != state {
		t.Fatalf("state %q, want %q", got, state)
	}
	return p.location.Query().Get("code")
}

// TestAuthorizationCodeFlow: a confidential web app signs Alice in through
// the hosted page with PKCE and a nonce; go-oidc verifies the ID token; the
// session then signs her in without a page; userinfo answers for her access
// token; a code is good once, and its replay revokes what it issued.
func TestAuthorizationCodeFlow(t *testing.T) {
	ts := startServer(t, nil)
	ctx := context.Background()
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/signin-oidc")
	b := newBrowser(t, "")
	verifier := oauth2.GenerateVerifier()
	start, done := f.signIn(b, "alice@contoso.test", alicePassword, oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-42"))
	if !strings.Contains(start.body, "Expenses") || !strings.Contains(start.body, `autocomplete="current-password"`) {
		t.Fatalf("sign-in page: %.500s", start.body)
	}
	code := mustCode(t, done, "st-1")
	tok, err := f.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	id, err := f.provider.Verifier(&oidc.Config{ClientID: f.conf.ClientID}).Verify(ctx, rawID)
	if err != nil || id.Nonce != "n-42" || tok.RefreshToken == "" {
		t.Fatalf("ID token: %v, nonce %q, refresh %q", err, id.Nonce, tok.RefreshToken)
	}

	// The session signs her in again without a page, with a new code.
	again := b.do("GET", f.conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier)), nil)
	second := mustCode(t, again, "st-2")
	if second == code {
		t.Fatal("the session reissued the same code")
	}

	info, err := f.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != id.Subject || info.Email != "" {
		t.Fatalf("userinfo: %+v, %v (ID token sub %s)", info, err, id.Subject)
	}

	// Replaying the first code fails and revokes its refresh token.
	_, err = f.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || !strings.Contains(re.ErrorDescription, "AADSTS54005") {
		t.Fatalf("replayed code: %v", err)
	}
	if _, err := f.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("the refresh token of a replayed code still works")
	}
	// A code redeemed without its verifier fails.
	if _, err := f.conf.Exchange(ctx, second); !errors.As(err, &re) || !strings.Contains(re.ErrorDescription, "code_verifier") {
		t.Fatalf("code without its verifier: %v", err)
	}
}

// TestRefreshTokenRotation: every redemption returns a new refresh token;
// presenting a spent one revokes the whole family, the newest included.
func TestRefreshTokenRotation(t *testing.T) {
	ts := startServer(t, nil)
	ctx := context.Background()
	f := newCodeFlow(t, ts, true, "http://127.0.0.1/callback")
	f.conf.RedirectURL = "http://127.0.0.1:49152/callback" // loopback: any port (RFC 8252)
	b := newBrowser(t, "")
	verifier := oauth2.GenerateVerifier()
	_, done := f.signIn(b, "alice@contoso.test", alicePassword, oauth2.S256ChallengeOption(verifier))
	tok, err := f.conf.Exchange(ctx, mustCode(t, done, "st-1"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	refresh := func(rt string) (*oauth2.Token, error) {
		return f.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}
	next, err := refresh(tok.RefreshToken)
	if err != nil || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("first refresh: %+v, %v", next, err)
	}
	third, err := refresh(next.RefreshToken)
	if err != nil {
		t.Fatalf("second refresh: %v", err)
	}
	if _, err := refresh(tok.RefreshToken); err == nil {
		t.Fatal("a spent refresh token was accepted")
	}
	if _, err := refresh(third.RefreshToken); err == nil {
		t.Fatal("the family survived the reuse of a spent token")
	}
}

// TestAuthorizeErrors: problems with the client or redirect URI are shown
// on the error page, never sent anywhere; the rest go back to the app.
func TestAuthorizeErrors(t *testing.T) {
	ts := startServer(t, nil)
	public := newCodeFlow(t, ts, true, "http://127.0.0.1/cb")
	b := newBrowser(t, "")
	wrong := *public.conf
	wrong.RedirectURL = "https://evil.example/cb"
	p := b.do("GET", wrong.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil)
	if p.status != http.StatusBadRequest || p.location != nil || !strings.Contains(p.body, "AADSTS50011") ||
		!strings.Contains(p.body, "Request ID") {
		t.Fatalf("unregistered redirect URI: %d %v %.300s", p.status, p.location, p.body)
	}
	p = b.do("GET", public.conf.AuthCodeURL("s"), nil) // a public client without PKCE
	if p.status != http.StatusFound || p.location.Query().Get("error") != "invalid_request" ||
		!strings.HasPrefix(p.location.Query().Get("error_description"), "AADSTS9002325") || p.location.Query().Get("state") != "s" {
		t.Fatalf("missing PKCE: %d %v", p.status, p.location)
	}
	p = b.do("GET", public.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("prompt", "none")), nil)
	if p.status != http.StatusFound || p.location.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none without a session: %d %v", p.status, p.location)
	}
}

// TestBrowserSignInRefusals: a wrong password shows the page again with
// Entra's message; a locked account reads the same unless the administrator
// chose to reveal locks; a disabled account ends on the error page after
// the right password only.
func TestBrowserSignInRefusals(t *testing.T) {
	ts := startServer(t, nil)
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	b := newBrowser(t, "")
	_, p := f.signIn(b, "alice@contoso.test", "wrong password")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Your account or password is incorrect") ||
		!strings.Contains(p.body, `value="alice@contoso.test"`) {
		t.Fatalf("wrong password: %d %.600s", p.status, p.body)
	}
	_, p = f.signIn(b, "dave@contoso.test", alicePassword)
	if p.status == http.StatusOK || p.location != nil || !strings.Contains(p.body, "AADSTS50057") {
		t.Fatalf("disabled account with the right password: %d %.400s", p.status, p.body)
	}
	rows, err := ts.srv.Store().FindSignIns(context.Background(), store.SignInFilter{TenantID: ts.tenant.ID, Limit: 10})
	if err != nil || len(rows) < 2 {
		t.Fatalf("sign-in log: %d rows, %v", len(rows), err)
	}
}
