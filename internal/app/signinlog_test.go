package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/store"
)

const corrPrefix = "c0000000-0000-4000-8000-"

func corr(n int) string { return corrPrefix + strings.Repeat("0", 12-len(itoa(n))) + itoa(n) }

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		if n /= 10; n == 0 {
			return s
		}
	}
}

// TestSignInRecords checks what the log says about each kind of attempt,
// including what only admins may see.
func TestSignInRecords(t *testing.T) {
	ts := startServer(t, nil)
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	cases := []struct {
		form          func() map[string][]string
		logged        int
		public        int
		correct       *bool
		userID        string
		failureReason string
	}{
		{func() map[string][]string { return passwordForm("ALICE@contoso.test", alicePassword) }, 0, 0, ptr(true), ts.alice.ID, ""},
		{func() map[string][]string { return passwordForm("alice@contoso.test", "nope") }, 50126, 50126, ptr(false), ts.alice.ID, "Error validating credentials due to invalid username or password."},
		{func() map[string][]string { return passwordForm("ghost@contoso.test", "nope") }, 50034, 50126, nil, "", "The user account does not exist in the directory."},
		{func() map[string][]string { return passwordForm("dave@contoso.test", alicePassword) }, 50057, 50057, ptr(true), ts.disabled.ID, ""},
	}
	for i, c := range cases {
		r := ts.token(c.form(), "client-request-id", corr(i), "User-Agent", ua)
		if r.errorCode() != c.public {
			t.Fatalf("case %d: public code %d, want %d (%s)", i, r.errorCode(), c.public, r.raw)
		}
		rec := ts.signInByCorrelation(corr(i))
		if rec.Status.ErrorCode != c.logged || rec.UserID != c.userID || rec.AppID != "8c4c9a7e-56e4-4d3b-9f0e-5f7c2d1b9a10" ||
			rec.AppDisplayName != "Portcullis CLI" || rec.IPAddress != "127.0.0.1" || rec.AuthenticationProtocol != "ropc" ||
			rec.DeviceDetail.Browser != "Chrome 120.0.0.0" || rec.DeviceDetail.OperatingSystem != "Windows10" || rec.UserAgent != ua {
			t.Fatalf("case %d: record = %+v", i, rec)
		}
		if c.failureReason != "" && rec.Status.FailureReason != c.failureReason {
			t.Fatalf("case %d: failureReason %q, want %q", i, rec.Status.FailureReason, c.failureReason)
		}
		p := rec.Protection
		if p == nil || (c.correct == nil) != (p.PasswordCorrect == nil) || (c.correct != nil && *c.correct != *p.PasswordCorrect) {
			t.Fatalf("case %d: protection = %+v, want passwordCorrect %v", i, p, c.correct)
		}
		if c.logged != c.public && p.PublicErrorCode != c.public {
			t.Fatalf("case %d: publicErrorCode %d, want %d", i, p.PublicErrorCode, c.public)
		}
	}
	if rec := ts.signInByCorrelation(corr(0)); rec.UserPrincipalName != "alice@contoso.test" || rec.UserDisplayName != "Alice Smith" {
		t.Fatalf("success record names %q / %q", rec.UserPrincipalName, rec.UserDisplayName)
	}
}

func ptr[T any](v T) *T { return &v }

// TestClientIPThroughTrustedProxy: the forwarded address is used only when
// the peer is a trusted proxy; a spoofed header from anyone else is ignored.
func TestClientIPThroughTrustedProxy(t *testing.T) {
	trusting := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
	trusting.token(passwordForm("alice@contoso.test", "x"), "client-request-id", corr(1), "X-Forwarded-For", "6.6.6.6, 203.0.113.9")
	if ip := trusting.signInByCorrelation(corr(1)).IPAddress; ip != "203.0.113.9" {
		t.Fatalf("through trusted proxy: ipAddress %s, want 203.0.113.9", ip)
	}
	untrusting := startServer(t, nil)
	untrusting.token(passwordForm("alice@contoso.test", "x"), "client-request-id", corr(2), "X-Forwarded-For", "203.0.113.9")
	if ip := untrusting.signInByCorrelation(corr(2)).IPAddress; ip != "127.0.0.1" {
		t.Fatalf("spoofed header from an untrusted peer: ipAddress %s, want 127.0.0.1", ip)
	}
}

// TestLegacyHashIsUpgraded: a user imported with a bcrypt hash signs in and
// the stored hash becomes argon2id with the current parameters.
func TestLegacyHashIsUpgraded(t *testing.T) {
	ts := startServer(t, nil)
	h, _ := bcrypt.GenerateFromPassword([]byte("migrated from elsewhere"), bcrypt.MinCost)
	csv := "userPrincipalName,displayName,passwordHash\nmia@contoso.test,Mia," + string(h) + "\n"
	if _, err := ts.dir.ImportCSV(context.Background(), ts.tenant, strings.NewReader(csv)); err != nil {
		t.Fatal(err)
	}
	if r := ts.token(passwordForm("mia@contoso.test", "migrated from elsewhere"), "client-request-id", corr(7)); r.status != 200 {
		t.Fatalf("bcrypt user sign-in: %s", r.raw)
	}
	u, err := ts.dir.FindUser(context.Background(), ts.tenant, "mia@contoso.test")
	if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash after sign-in = %q, %v", u.PasswordHash, err)
	}
	if !ts.signInByCorrelation(corr(7)).Protection.PasswordRehash {
		t.Fatalf("sign-in record does not say the password was rehashed")
	}
	if r := ts.token(passwordForm("mia@contoso.test", "migrated from elsewhere")); r.status != 200 {
		t.Fatalf("sign-in with upgraded hash: %s", r.raw)
	}
}

// TestForcedPasswordChange: ROPC cannot change a password, so it answers
// 50055 like Entra, and only after the password was verified.
func TestForcedPasswordChange(t *testing.T) {
	ts := startServer(t, nil)
	u, err := ts.dir.AddUser(context.Background(), ts.tenant, directory.NewUser{UserPrincipalName: "new@contoso.test",
		DisplayName: "New", Password: alicePassword, AccountEnabled: true, ForceChangePasswordNextSignIn: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.token(passwordForm(u.UserPrincipalName, alicePassword)); r.errorCode() != 50055 {
		t.Fatalf("forced change, right password: %s", r.raw)
	}
	if r := ts.token(passwordForm(u.UserPrincipalName, "wrong")); r.errorCode() != 50126 {
		t.Fatalf("forced change, wrong password: %s", r.raw)
	}
}

// TestPathsAreCaseInsensitive: MSAL's spelling of Entra paths must work.
func TestPathsAreCaseInsensitive(t *testing.T) {
	ts := startServer(t, nil)
	for _, path := range []string{"/common/UserRealm/alice@contoso.test?api-version=1.0", "/COMMON/userrealm/Alice@CONTOSO.test?api-version=1.0"} {
		req, _ := http.NewRequest(http.MethodGet, ts.base+path, nil)
		r := ts.do(req)
		if r.status != 200 || r.body["account_type"] != "Managed" || r.body["domain_name"] != "contoso.test" ||
			r.body["cloud_instance_name"] != "microsoftonline.com" || r.body["cloud_audience_urn"] != "urn:federation:MicrosoftOnline" {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, ts.base+"/common/userrealm/x@fabrikam.test?api-version=1.0", nil)
	if r := ts.do(req); r.body["account_type"] != "Unknown" {
		t.Fatalf("foreign domain: %s", r.raw)
	}
	for _, tenant := range []string{ts.tenant.ID, strings.ToUpper(ts.tenant.ID), "Contoso.TEST", "common", "Organizations"} {
		if r := ts.post("/"+tenant+"/OAuth2/V2.0/Token", passwordForm("alice@contoso.test", alicePassword)); r.status != 200 {
			t.Fatalf("tenant %s: %s", tenant, r.raw)
		}
		req, _ := http.NewRequest(http.MethodGet, ts.base+"/"+tenant+"/V2.0/.well-known/openid-configuration", nil)
		r := ts.do(req)
		wantIssuer := ts.base + "/" + ts.tenant.ID + "/v2.0"
		if strings.EqualFold(tenant, "common") || strings.EqualFold(tenant, "organizations") {
			wantIssuer = ts.base + "/{tenantid}/v2.0"
		}
		if r.status != 200 || r.body["issuer"] != wantIssuer {
			t.Fatalf("discovery for %s: %s", tenant, r.raw)
		}
	}
}

// TestOverloadIsAnsweredFast: with one hash worker and no queue, concurrent
// attempts beyond capacity get 429 AADSTS90055 with Retry-After, and are
// still logged.
func TestOverloadIsAnsweredFast(t *testing.T) {
	ts := startServer(t, func(c *config.Config) {
		c.Passwords.HashConcurrency, c.Passwords.HashQueue = 1, 0
		c.Lockout.Threshold = 1000 // this test is about the pool, not the budget
		c.Passwords.Argon2 = config.Argon2{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}
	})
	const n = 16
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Go(func() {
			results[i] = ts.token(passwordForm("alice@contoso.test", "wrong"), "client-request-id", corr(100+i))
		})
	}
	wg.Wait()
	throttled := 0
	for i, r := range results {
		switch {
		case r.status == http.StatusTooManyRequests:
			throttled++
			if r.errorCode() != 90055 || r.header.Get("Retry-After") != "1" {
				t.Fatalf("throttled response: %v %s", r.header, r.raw)
			}
			if rec := ts.signInByCorrelation(corr(100 + i)); rec.Status.ErrorCode != 90055 || rec.Protection.Decision != "hashPoolOverloaded" {
				t.Fatalf("throttled record: %+v", rec)
			}
		case r.errorCode() != 50126:
			t.Fatalf("unexpected response %d %s", r.status, r.raw)
		}
	}
	if throttled == 0 {
		t.Fatalf("no request was throttled with one worker, no queue and %d concurrent attempts", n)
	}
	if got := len(ts.signIns(store.SignInQuery{})); got != n {
		t.Fatalf("%d sign-in records for %d attempts", got, n)
	}
}

// TestSignInStreams: with a stream file and a webhook configured, every
// answered sign-in reaches both, and the server shuts down cleanly.
func TestSignInStreams(t *testing.T) {
	var mu sync.Mutex
	hooked := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		hooked += len(batch)
		mu.Unlock()
	}))
	defer hook.Close()
	file := filepath.Join(t.TempDir(), "signins.jsonl")
	ts := startServer(t, func(c *config.Config) {
		c.SignInLog.StreamFile, c.SignInLog.WebhookURL = file, hook.URL
	})
	for i := range 5 {
		ts.token(passwordForm("alice@contoso.test", fmt.Sprint("wrong-", i)))
	}
	if err := ts.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 5 || hooked != 5 {
		t.Fatalf("stream file has %d lines, webhook got %d records; want 5 each", len(lines), hooked)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec["status"] == nil {
		t.Fatalf("stream line: %v %s", err, lines[0])
	}
}
