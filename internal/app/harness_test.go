package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

const (
	adminPassword = "Tr0ub4dor&3-horse-staple"
	alicePassword = "correct horse battery staple"
)

// testServer is a real Portcullis listening on loopback with a fresh data
// directory: a tenant, an admin, alice, a disabled user, a confidential app.
type testServer struct {
	t        testing.TB
	srv      *app.Server
	base     string
	tenant   store.Tenant
	dir      *directory.Service
	alice    store.User
	disabled store.User
	conf     store.App
	secret   string
}

// fastConfig keeps hashing cheap so tests run quickly on two cores.
func fastConfig(t testing.TB) config.Config {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Passwords.Argon2 = config.Argon2{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	// Every test client is 127.0.0.1: automatic IP blocking would turn the
	// tests' own traffic into an attack. The IP protection tests enable it.
	cfg.Detection.ReportOnly = true
	return cfg
}

func startServer(t testing.TB, mutate func(*config.Config)) *testServer {
	t.Helper()
	ctx := context.Background()
	cfg := fastConfig(t)
	if mutate != nil {
		mutate(&cfg)
	}
	db, err := app.OpenConfiguredStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.Initialise(ctx, db, cfg, app.InitOptions{Domain: "contoso.test", AdminPassword: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, tenant: res.Tenant, dir: app.DirectoryService(db, cfg)}
	ts.alice = ts.addUser("alice@contoso.test", "Alice Smith", alicePassword, true)
	ts.disabled = ts.addUser("dave@contoso.test", "Dave Disabled", alicePassword, false)
	if ts.conf, ts.secret, err = ts.dir.AddApp(ctx, res.Tenant, directory.NewApp{Name: "Payroll", AllowPasswordGrant: true}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ts.srv, err = app.Start(ctx, cfg, io.Discard, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.srv.Shutdown(context.Background()) })
	ts.base = ts.srv.BaseURL()
	ts.dir = app.DirectoryService(ts.srv.Store(), cfg)
	return ts
}

func (ts *testServer) addUser(upn, name, pw string, enabled bool) store.User {
	ts.t.Helper()
	u, err := ts.dir.AddUser(context.Background(), ts.tenant, directory.NewUser{UserPrincipalName: upn,
		DisplayName: name, Password: pw, AccountEnabled: enabled})
	if err != nil {
		ts.t.Fatal(err)
	}
	return u
}

func (ts *testServer) tokenURL() string { return ts.base + "/" + ts.tenant.ID + "/oauth2/v2.0/token" }

// passwordForm is a password grant request from the built-in CLI app.
func passwordForm(user, pw string) url.Values {
	return url.Values{"grant_type": {"password"}, "client_id": {app.CLIClientID}, "username": {user},
		"password": {pw}, "scope": {"openid profile offline_access"}}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) errorCode() int {
	codes, _ := r.body["error_codes"].([]any)
	if len(codes) != 1 {
		return 0
	}
	n, _ := codes[0].(float64)
	return int(n)
}

func (ts *testServer) do(req *http.Request) response {
	ts.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (ts *testServer) post(path string, form url.Values, headers ...string) response {
	ts.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return ts.do(req)
}

func (ts *testServer) token(form url.Values, headers ...string) response {
	return ts.post("/"+ts.tenant.ID+"/oauth2/v2.0/token", form, headers...)
}

// signIns returns the tenant's sign-in log, newest first.
func (ts *testServer) signIns(q store.SignInQuery) []signinlog.Record {
	ts.t.Helper()
	q.TenantID = ts.tenant.ID
	if q.Limit == 0 {
		q.Limit = 1000
	}
	rows, err := ts.srv.Store().QuerySignIns(context.Background(), q)
	if err != nil {
		ts.t.Fatal(err)
	}
	out := make([]signinlog.Record, len(rows))
	for i, r := range rows {
		if out[i], err = signinlog.FromRow(r); err != nil {
			ts.t.Fatal(err)
		}
	}
	return out
}

func (ts *testServer) signInByCorrelation(corr string) signinlog.Record {
	ts.t.Helper()
	recs := ts.signIns(store.SignInQuery{CorrelationID: corr})
	if len(recs) != 1 {
		ts.t.Fatalf("%d sign-in records for correlation %s, want 1", len(recs), corr)
	}
	return recs[0]
}

var _ = time.Second
