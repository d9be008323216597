package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/store"
)

const lockedReason = "Account is locked because user tried to sign in too many times with an incorrect user ID or password."

// TestLockoutUnderConcurrentAttack: 500 concurrent wrong passwords over HTTP
// verify at most the threshold; then even the right password gets 50053.
func TestLockoutUnderConcurrentAttack(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Passwords.HashQueue = 1000 })
	var wg sync.WaitGroup
	codes := make([]int, 500)
	for i := range 500 {
		wg.Go(func() {
			codes[i] = ts.token(passwordForm("alice@contoso.test", fmt.Sprint("guess-", i))).errorCode()
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, c := range codes {
		counts[c]++
	}
	verified := 0
	for _, rec := range ts.signIns(store.SignInQuery{UserID: ts.alice.ID}) {
		if rec.Protection != nil && rec.Protection.PasswordCorrect != nil {
			verified++
		}
	}
	if verified > 10 || counts[50126] > 10 || counts[50126]+counts[50053] != 500 {
		t.Fatalf("verified %d passwords, responses %v; want at most 10 verifications", verified, counts)
	}
	r := ts.token(passwordForm("alice@contoso.test", alicePassword), "client-request-id", corr(900))
	if r.status != 400 || r.errorCode() != 50053 || !strings.HasPrefix(r.body["error_description"].(string), "AADSTS50053: The account is locked") {
		t.Fatalf("right password on a locked account: %d %s", r.status, r.raw)
	}
	checkErrorShape(t, r)
	rec := ts.signInByCorrelation(corr(900))
	p := rec.Protection
	if rec.Status.ErrorCode != 50053 || rec.Status.FailureReason != lockedReason || p == nil || p.Decision != "locked" ||
		p.SourceClass != "unfamiliar" || p.Failures != 10 || p.Threshold != 10 || p.LockedUntil == nil ||
		p.PasswordCorrect != nil || p.ConsecutiveLockouts != 1 {
		t.Fatalf("locked sign-in record: %+v %+v", rec.Status, p)
	}
}

// TestFamiliarNetworkKeepsUserIn: the attacker locks the unfamiliar budget
// from the internet; alice, on the network she signed in from before, gets
// in. Addresses arrive through a trusted proxy, as in production.
func TestFamiliarNetworkKeepsUserIn(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), from("203.0.113.10")...); r.status != 200 {
		t.Fatalf("alice at the office: %s", r.raw)
	}
	for i := range 12 {
		ts.token(passwordForm("alice@contoso.test", fmt.Sprint("spray-", i)), from(fmt.Sprintf("198.51.100.%d", i+1))...)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), from("192.0.2.77")...); r.errorCode() != 50053 {
		t.Fatalf("attacker's budget is not locked: %s", r.raw)
	}
	r := ts.token(passwordForm("alice@contoso.test", alicePassword), append(from("203.0.113.99"), "client-request-id", corr(77))...)
	if r.status != 200 {
		t.Fatalf("alice from her familiar network was refused: %s", r.raw)
	}
	if p := ts.signInByCorrelation(corr(77)).Protection; p.SourceClass != "familiarNetwork" || p.SourceScope != "203.0.113.0/24" {
		t.Fatalf("source class of alice's sign-in: %+v", p)
	}
}

// TestUnknownAndRealAccountsAnswerAlike: the same attempts against a real
// account and a name that does not exist get the same answers, lock included.
func TestUnknownAndRealAccountsAnswerAlike(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Lockout.Threshold = 3 })
	seq := func(user string) []string {
		var out []string
		for _, pw := range []string{"a", "b", "b", "c", "d", "e", alicePassword} {
			r := ts.token(passwordForm(user, pw))
			out = append(out, fmt.Sprintf("%d %v %d %v", r.status, r.body["error"], r.errorCode(), sortedKeys(r.body)))
		}
		return out
	}
	real, ghost := seq("alice@contoso.test"), seq("ghost@contoso.test")
	for i := range real[:len(real)-1] { // the last attempt is alice's right password: refused, as locked
		if real[i] != ghost[i] {
			t.Fatalf("attempt %d differs:\n real  %s\n ghost %s", i, real[i], ghost[i])
		}
	}
	if !strings.HasPrefix(real[4], "400 invalid_grant 50053") || real[6] != ghost[6] {
		t.Fatalf("expected both locked after 3 distinct failures:\n real  %v\n ghost %v", real, ghost)
	}
}

// TestEveryCredentialPathGoesThroughTheGuard enumerates the grant types the
// token endpoint registers. Each grant that checks a user's credential must
// refuse a locked account with 50053 — proof it went through the guard; the
// others redeem something only a checked sign-in issued. The browser
// sign-in page, the other place a password is typed, must refuse too.
func TestEveryCredentialPathGoesThroughTheGuard(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Lockout.Threshold = 2 })
	for i := range 2 {
		ts.token(passwordForm("alice@contoso.test", fmt.Sprint("w", i)))
	}
	credentialForms := map[string]url.Values{
		"password": passwordForm("alice@contoso.test", alicePassword),
	}
	noUserCredential := map[string]string{
		"client_credentials": "authenticates an app with its secret, not a user",
		"authorization_code": "redeems a code issued only by a browser sign-in (checked below)",
		"refresh_token":      "redeems a token issued only by a checked sign-in",
	}
	for _, grant := range ts.srv.GrantTypes() {
		if _, ok := noUserCredential[grant]; ok {
			continue
		}
		form, checksUserCredential := credentialForms[grant]
		if !checksUserCredential {
			t.Fatalf("grant %q is registered but this test does not know how it checks credentials: add it", grant)
		}
		if r := ts.token(form); r.errorCode() != 50053 {
			t.Fatalf("grant %q let a locked account through: %s", grant, r.raw)
		}
	}
	f := newCodeFlow(t, ts, false, "https://expenses.contoso.test/cb")
	_, p := f.signIn(newBrowser(t, ""), "alice@contoso.test", alicePassword)
	if p.status != http.StatusOK || p.location != nil || !strings.Contains(p.body, "Your account or password is incorrect") {
		t.Fatalf("browser sign-in of a locked account: %d %v %.300s", p.status, p.location, p.body)
	}
	rows, err := ts.srv.Store().FindSignIns(context.Background(), store.SignInFilter{TenantID: ts.tenant.ID, Limit: 1})
	if err != nil || len(rows) != 1 || rows[0].ErrorCode != 50053 {
		t.Fatalf("the browser refusal's record: %+v, %v", rows, err)
	}
}

// TestLockSurvivesRestart locks an account on a real process, restarts it,
// and finds the account still locked until the lock expires.
func TestLockSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and restarts a real process")
	}
	dataDir := t.TempDir()
	proc, base := startProcess(t, dataDir)
	tenant, tokenURL := tenantOf(t, dataDir), ""
	tokenURL = base + "/" + tenant.ID + "/oauth2/v2.0/token"
	admin := "admin@" + tenant.Domains[0]
	for i := range 10 {
		postForm(t, tokenURL, passwordForm(admin, fmt.Sprint("wrong-", i)))
	}
	if code := postForm(t, tokenURL, passwordForm(admin, "anything")); code != 50053 {
		t.Fatalf("not locked before restart: %d", code)
	}
	_ = proc.Process.Kill()
	_ = proc.Wait()
	_, base = startProcess(t, dataDir)
	tokenURL = base + "/" + tenant.ID + "/oauth2/v2.0/token"
	if code := postForm(t, tokenURL, passwordForm(admin, "still-anything")); code != 50053 {
		t.Fatalf("after restart: code %d, want 50053 (lock lost)", code)
	}
}

func tenantOf(t *testing.T, dataDir string) store.Tenant {
	t.Helper()
	db, err := app.OpenStore(context.Background(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tn, err := app.SingleTenant(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func postForm(t *testing.T, u string, form url.Values) int {
	t.Helper()
	resp, err := httpClient.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Codes []int `json:"error_codes"`
	}
	_ = jsonDecode(resp.Body, &body)
	if len(body.Codes) == 0 {
		return 0
	}
	return body.Codes[0]
}

var _ = time.Second
