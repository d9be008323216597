package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestBrowserForcedPasswordChange: a user who must change the password is
// shown the change page after the right password; mismatches and the
// password policy are explained there; the new password completes the
// sign-in and the old one stops working.
func TestBrowserForcedPasswordChange(t *testing.T) {
	ts := startServer(t, nil)
	if _, err := ts.dir.AddUser(context.Background(), ts.tenant, directory.NewUser{UserPrincipalName: "erin@contoso.test",
		DisplayName: "Erin", Password: "first-day-temporary-71", AccountEnabled: true, ForceChangePasswordNextSignIn: true}); err != nil {
		t.Fatal(err)
	}
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	b := newBrowser(t, "")
	_, change := f.signIn(b, "erin@contoso.test", "first-day-temporary-71")
	if change.status != http.StatusOK || !strings.Contains(change.body, "Update your password") {
		t.Fatalf("no change page: %d %.400s", change.status, change.body)
	}
	p := b.submit(ts.base, change, url.Values{"new_password": {"Quiet-Harbour-Lamp-81"}, "confirm_password": {"Quiet-Harbour-Lamp-82"}})
	if !strings.Contains(p.body, "The passwords don&#39;t match.") {
		t.Fatalf("mismatch: %.400s", p.body)
	}
	p = b.submit(ts.base, p, url.Values{"new_password": {"password"}, "confirm_password": {"password"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Update your password") || !strings.Contains(p.body, `role="alert"`) {
		t.Fatalf("weak password: %.400s", p.body)
	}
	done := b.submit(ts.base, p, url.Values{"new_password": {"Quiet-Harbour-Lamp-81"}, "confirm_password": {"Quiet-Harbour-Lamp-81"}})
	if _, err := f.conf.Exchange(context.Background(), mustCode(t, done, "st-1")); err != nil {
		t.Fatalf("exchange after the change: %v", err)
	}
	if r := ts.token(passwordForm("erin@contoso.test", "first-day-temporary-71")); r.errorCode() != 50126 {
		t.Fatalf("the old password after the change: %s", r.raw)
	}
	// The change page cannot be replayed once the password changed.
	if again := b.submit(ts.base, change, url.Values{"new_password": {"Other-Harbour-Lamp-99"},
		"confirm_password": {"Other-Harbour-Lamp-99"}}); again.status != http.StatusBadRequest {
		t.Fatalf("replayed change form: %d %.300s", again.status, again.body)
	}
}

// TestDeviceCookieKeepsTheUserIn is OWASP's device cookie scenario: an
// attacker locks the account from unfamiliar addresses, and the user's own
// browser, holding the device cookie from an earlier sign-in, still signs
// in from a network it never used; a browser without the cookie is refused.
func TestDeviceCookieKeepsTheUserIn(t *testing.T) {
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Lockout.Threshold = 3
	})
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	mine := newBrowser(t, "198.51.100.7")
	verifier := oauth2.GenerateVerifier()
	_, done := f.signIn(mine, "alice@contoso.test", alicePassword, oauth2.S256ChallengeOption(verifier))
	mustCode(t, done, "st-1")
	for i := range 6 {
		attacker := newBrowser(t, fmt.Sprintf("203.0.113.%d", i+1))
		f.signIn(attacker, "alice@contoso.test", fmt.Sprint("guess-", i))
	}
	stranger := newBrowser(t, "192.0.2.56")
	if _, p := f.signIn(stranger, "alice@contoso.test", alicePassword); p.location != nil {
		t.Fatalf("a browser without the cookie got in while locked: %v", p.location)
	}
	mine.ip = "192.0.2.55" // travelling: a network the account never used
	_, done = f.signIn(mine, "alice@contoso.test", alicePassword, oauth2.SetAuthURLParam("prompt", "login"))
	mustCode(t, done, "st-1")
	rows, err := ts.srv.Store().FindSignIns(context.Background(), store.SignInFilter{TenantID: ts.tenant.ID, Limit: 1})
	if err != nil || len(rows) != 1 {
		t.Fatal(err)
	}
	rec, err := signinlog.FromRow(rows[0])
	if err != nil || rec.Protection == nil || rec.Protection.SourceClass != "deviceCookie" || rec.Status.ErrorCode != 0 {
		t.Fatalf("the device cookie sign-in's record: %+v, %v", rec.Protection, err)
	}
}

// TestSessionRevocationEndsBrowserSignIn: an administrator's
// revokeSignInSessions ends the SSO session and the refresh tokens
// (AADSTS50173) at once.
func TestSessionRevocationEndsBrowserSignIn(t *testing.T) {
	ts := startServer(t, nil)
	_, adminTok := ts.withRole("helpdesk", rbac.HelpdeskAdministrator)
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	b := newBrowser(t, "")
	_, done := f.signIn(b, "alice@contoso.test", alicePassword)
	tok, err := f.conf.Exchange(context.Background(), mustCode(t, done, "st-1"))
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.api("POST", "/v1.0/users/"+ts.alice.ID+"/revokeSignInSessions", adminTok, ""); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if p := b.do("GET", f.conf.AuthCodeURL("st-2"), nil); p.status != http.StatusOK || !strings.Contains(p.body, "Sign in") {
		t.Fatalf("the session survived the revocation: %d %v", p.status, p.location)
	}
	_, err = f.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err == nil || !strings.Contains(err.Error(), "AADSTS50173") {
		t.Fatalf("refresh after the revocation: %v", err)
	}
}

// TestEndSession: sign-out ends the session and returns only to an address
// registered for the app; any other address gets the signed-out page.
func TestEndSession(t *testing.T) {
	ts := startServer(t, nil)
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	b := newBrowser(t, "")
	_, done := f.signIn(b, "alice@contoso.test", alicePassword)
	mustCode(t, done, "st-1")
	logout := ts.base + "/" + ts.tenant.ID + "/oauth2/v2.0/logout?"
	p := b.do("GET", logout+url.Values{"post_logout_redirect_uri": {"https://evil.example/"}, "client_id": {f.conf.ClientID}}.Encode(), nil)
	if p.status != http.StatusOK || p.location != nil || !strings.Contains(p.body, "You signed out") {
		t.Fatalf("sign-out to an unregistered address: %d %v", p.status, p.location)
	}
	if p := b.do("GET", f.conf.AuthCodeURL("st-2"), nil); p.status != http.StatusOK {
		t.Fatalf("the session survived sign-out: %d %v", p.status, p.location)
	}
	_, done = f.signIn(b, "alice@contoso.test", alicePassword)
	mustCode(t, done, "st-1")
	p = b.do("GET", logout+url.Values{"post_logout_redirect_uri": {f.conf.RedirectURL}, "client_id": {f.conf.ClientID},
		"state": {"bye"}}.Encode(), nil)
	if p.status != http.StatusFound || p.location.String() != f.conf.RedirectURL+"?state=bye" {
		t.Fatalf("sign-out to the registered address: %d %v", p.status, p.location)
	}
}

// TestFormPostAndCSRF: response_mode=form_post answers with a form that
// posts the code to the app, allowed by the page's policy; a sign-in form
// posted from another site (no CSRF cookie) is refused before any password
// is checked.
func TestFormPostAndCSRF(t *testing.T) {
	ts := startServer(t, nil)
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	b := newBrowser(t, "")
	start, done := f.signIn(b, "alice@contoso.test", alicePassword, oauth2.SetAuthURLParam("response_mode", "form_post"))
	if done.status != http.StatusOK || !strings.Contains(done.body, `action="https://expenses.contoso.test/cb"`) ||
		!strings.Contains(done.body, `name="code"`) || !strings.Contains(done.body, `name="state" value="st-1"`) {
		t.Fatalf("form_post: %d %.500s", done.status, done.body)
	}
	forged := newBrowser(t, "") // the attacker's page posting the victim's browser: no CSRF cookie
	p := forged.submit(ts.base, start, url.Values{"username": {"alice@contoso.test"}, "password": {alicePassword}})
	if p.status != http.StatusBadRequest || p.location != nil {
		t.Fatalf("form posted without its CSRF cookie: %d %v", p.status, p.location)
	}
}

// TestRevealLockout: with signin.reveal_lockout the page says the account
// is locked, in Entra's words.
func TestRevealLockout(t *testing.T) {
	ts := startServer(t, func(c *config.Config) {
		c.SignIn.RevealLockout = true
		c.Lockout.Threshold = 2
	})
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	b := newBrowser(t, "")
	for i := range 2 {
		f.signIn(b, "alice@contoso.test", fmt.Sprint("wrong-", i))
	}
	_, p := f.signIn(b, "alice@contoso.test", alicePassword)
	if !strings.Contains(p.body, "Your account is temporarily locked to prevent unauthorized use.") {
		t.Fatalf("locked with reveal_lockout: %.500s", p.body)
	}
}

// TestConfirmCompromised: a Security Operator confirms Alice compromised:
// her browser session and refresh token stop working and her device cookie
// is revoked (audited); a Security Reader may not do it.
func TestConfirmCompromised(t *testing.T) {
	ts := startServer(t, nil)
	_, opTok := ts.withRole("secop", rbac.SecurityOperator)
	_, readerTok := ts.withRole("secreader", rbac.SecurityReader)
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	b := newBrowser(t, "")
	_, done := f.signIn(b, "alice@contoso.test", alicePassword)
	tok, err := f.conf.Exchange(context.Background(), mustCode(t, done, "st-1"))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"userIds":["` + ts.alice.ID + `"]}`
	if r := ts.api("POST", "/v1.0/identityProtection/riskyUsers/confirmCompromised", readerTok, body); r.status != http.StatusForbidden {
		t.Fatalf("a Security Reader confirming: %d %s", r.status, r.raw)
	}
	if r := ts.api("POST", "/v1.0/identityProtection/riskyUsers/confirmCompromised", opTok, `{"userIds":["nobody@contoso.test"]}`); r.status != http.StatusNotFound {
		t.Fatalf("an unknown user: %d %s", r.status, r.raw)
	}
	if r := ts.api("POST", "/v1.0/identityProtection/riskyUsers/confirmCompromised", opTok, body); r.status != http.StatusNoContent {
		t.Fatalf("confirm compromised: %d %s", r.status, r.raw)
	}
	if p := b.do("GET", f.conf.AuthCodeURL("st-2"), nil); p.status != http.StatusOK {
		t.Fatalf("the session survived: %d %v", p.status, p.location)
	}
	if _, err := f.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("the refresh token survived")
	}
	recs := ts.audits(opTok, "Confirm user compromised")
	if len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["targetResources"]), "DeviceCookiesRevoked newValue:1") {
		t.Fatalf("audit: %v", recs)
	}
}

// TestBrowserReviewFixes: sign-out also spends codes issued in the session;
// a session is no pass through an address block; sign-out through /common
// never redirects (it could vouch for any tenant's app).
func TestBrowserReviewFixes(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	b := newBrowser(t, "198.51.100.7")
	_, done := f.signIn(b, "alice@contoso.test", alicePassword)
	code := mustCode(t, done, "st-1")
	logout := ts.base + "/common/oauth2/v2.0/logout?" + url.Values{"post_logout_redirect_uri": {f.conf.RedirectURL},
		"client_id": {f.conf.ClientID}}.Encode()
	if p := b.do("GET", logout, nil); p.location != nil || p.status != http.StatusOK {
		t.Fatalf("sign-out through /common redirected: %d %v", p.status, p.location)
	}
	if _, err := f.conf.Exchange(context.Background(), code); err == nil {
		t.Fatal("a code issued in a signed-out session was redeemed")
	}

	_, done = f.signIn(b, "alice@contoso.test", alicePassword)
	mustCode(t, done, "st-1")
	_, op := ts.withRole("secop", rbac.SecurityOperator)
	if r := ts.api("POST", "/v1.0/portcullis/ipBlocks", op, `{"prefix":"198.51.100.0/24","reason":"test"}`); r.status != http.StatusCreated {
		t.Fatalf("block: %d %s", r.status, r.raw)
	}
	if p := b.do("GET", f.conf.AuthCodeURL("st-2"), nil); p.location != nil {
		t.Fatalf("single sign-on from a blocked address: %v", p.location)
	}
}
