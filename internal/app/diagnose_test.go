package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/diagnose"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/rbac"
)

// diagnoseServer is a server trusting the test client as a proxy, so each
// attempt's X-Forwarded-For is its source address, with lockout threshold 3.
func diagnoseServer(t *testing.T, mutate func(*config.Config)) *testServer {
	return startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Lockout.Threshold = 3
		if mutate != nil {
			mutate(c)
		}
	})
}

func (ts *testServer) attempt(user, pw, from string) response {
	ts.t.Helper()
	return ts.token(passwordForm(user, pw), "X-Forwarded-For", from)
}

// diagnoseAPI runs GET /v1.0/portcullis/diagnose as a Reports Reader.
func (ts *testServer) diagnoseAPI(user string) diagnose.Report {
	ts.t.Helper()
	_, tok := ts.withRole("reports", rbac.ReportsReader)
	r := ts.api("GET", "/v1.0/portcullis/diagnose?user="+url.QueryEscape(user), tok, "")
	var rep diagnose.Report
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &rep) != nil {
		ts.t.Fatalf("diagnose: %d %s", r.status, r.raw)
	}
	return rep
}

var (
	goldenUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	goldenTime = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z`)
)

// checkGolden compares the report's JSON and text with testdata/diagnose,
// IDs and times normalised (go test -run Diagnose -update rewrites them).
func checkGolden(t *testing.T, name string, rep diagnose.Report) {
	t.Helper()
	js, _ := json.MarshalIndent(rep, "", "  ")
	var text bytes.Buffer
	rep.WriteText(&text)
	for ext, got := range map[string][]byte{".json": js, ".txt": text.Bytes()} {
		got = goldenTime.ReplaceAll(goldenUUID.ReplaceAll(got, []byte("<id>")), []byte("<time>"))
		path := filepath.Join("testdata", "diagnose", name+ext)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
		}
	}
}

// TestDiagnoseScenarios drives a real server into each situation of the
// troubleshooting guide and compares the diagnosis with golden outputs.
func TestDiagnoseScenarios(t *testing.T) {
	t.Run("locked", func(t *testing.T) {
		ts := diagnoseServer(t, nil)
		for _, pw := range []string{"w1", "w2", "w3", "w3"} {
			ts.attempt("alice@contoso.test", pw, "203.0.113.5")
		}
		rep := ts.diagnoseAPI("alice@contoso.test")
		if rep.Cause != diagnose.CauseLocked || !rep.InEffectNow || rep.Failures.KnownWrongWhileLocked != 1 {
			t.Fatalf("locked: %s %v %+v", rep.Cause, rep.InEffectNow, rep.Failures)
		}
		checkGolden(t, "locked", rep)
	})
	t.Run("correct password while locked", func(t *testing.T) {
		ts := diagnoseServer(t, nil)
		for _, pw := range []string{"w1", "w2", "w3", alicePassword, alicePassword} {
			ts.attempt("alice@contoso.test", pw, "203.0.113.5")
		}
		rep := ts.diagnoseAPI("alice@contoso.test")
		if rep.Failures.UncheckedWhileLocked != 2 {
			t.Fatalf("attempts with a password the lock did not check: %+v", rep.Failures)
		}
		checkGolden(t, "correct-password-while-locked", rep)
	})
	t.Run("blocked by a feed", func(t *testing.T) {
		feed := filepath.Join(t.TempDir(), "bad.txt")
		if err := os.WriteFile(feed, []byte("198.51.100.0/24\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ts := diagnoseServer(t, func(c *config.Config) {
			c.Feeds = []config.Feed{{Name: "known-bad", Path: feed, Category: "malicious", Action: "block"}}
		})
		ts.attempt("alice@contoso.test", alicePassword, "198.51.100.7")
		ts.attempt("alice@contoso.test", alicePassword, "198.51.100.7")
		rep := ts.diagnoseAPI("alice@contoso.test")
		if rep.Cause != diagnose.CauseIPBlocked || len(rep.IPBlocks) != 1 || rep.IPBlocks[0].Name != "known-bad" {
			t.Fatalf("feed: %s %+v", rep.Cause, rep.IPBlocks)
		}
		checkGolden(t, "blocked-by-feed", rep)
	})
	t.Run("blocked by spray detection", func(t *testing.T) {
		ts := diagnoseServer(t, func(c *config.Config) {
			c.Detection.ReportOnly = false
			c.Detection.SprayAccounts = 3
		})
		for _, name := range []string{"bob", "carol", "erin", "frank"} {
			ts.addUser(name+"@contoso.test", name, alicePassword, true)
			ts.attempt(name+"@contoso.test", "Winter2026!", "192.0.2.66")
		}
		ts.attempt("alice@contoso.test", "Winter2026!", "192.0.2.66")
		rep := ts.diagnoseAPI("alice@contoso.test")
		if rep.Cause != diagnose.CauseIPBlocked || len(rep.Patterns) == 0 || rep.Patterns[0].Kind != diagnose.PatternPasswordSpray {
			t.Fatalf("spray: %s %+v %+v", rep.Cause, rep.IPBlocks, rep.Patterns)
		}
		checkGolden(t, "blocked-by-spray-detection", rep)
	})
	t.Run("locked and blocked", func(t *testing.T) {
		ts := diagnoseServer(t, nil)
		for _, pw := range []string{"w1", "w2", "w3"} {
			ts.attempt("alice@contoso.test", pw, "203.0.113.5")
		}
		_, op := ts.withRole("secop", rbac.SecurityOperator)
		if r := ts.api("POST", "/v1.0/portcullis/ipBlocks", op, `{"prefix":"192.0.2.0/24","reason":"incident 7"}`); r.status != http.StatusCreated {
			t.Fatalf("block: %d %s", r.status, r.raw)
		}
		ts.attempt("alice@contoso.test", alicePassword, "192.0.2.9")
		rep := ts.diagnoseAPI("alice@contoso.test")
		if rep.Cause != diagnose.CauseLockedAndBlocked || !rep.InEffectNow {
			t.Fatalf("both: %s %+v", rep.Cause, rep.IPBlocks)
		}
		checkGolden(t, "locked-and-blocked", rep)
	})
	t.Run("lock already expired", func(t *testing.T) {
		ts := diagnoseServer(t, nil)
		for _, pw := range []string{"w1", "w2", "w3"} {
			ts.attempt("alice@contoso.test", pw, "203.0.113.5")
		}
		// Diagnosed two hours later: a guard over the same store, clock moved.
		later := time.Now().Add(2 * time.Hour)
		cfg := fastConfig(t)
		cfg.Lockout.Threshold = 3
		g, err := guard.New(context.Background(), guard.Config{Store: ts.srv.Store(), Pool: hashpool.New(1, 1, time.Second, nil),
			Params: app.HashParams(cfg), DefaultPolicy: app.LockoutDefaults(cfg), Now: func() time.Time { return later }})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := diagnose.Run(context.Background(), diagnose.Deps{Store: ts.srv.Store(), Guard: g,
			Now: func() time.Time { return later }}, diagnose.Query{TenantID: ts.tenant.ID, User: "alice@contoso.test", Since: 24 * time.Hour})
		if err != nil || rep.Cause != diagnose.CauseLocked || rep.InEffectNow || rep.Lock == nil || rep.Lock.LockedNow {
			t.Fatalf("expired lock: %v %s %v %+v", err, rep.Cause, rep.InEffectNow, rep.Lock)
		}
		checkGolden(t, "lock-expired", rep)
	})
	t.Run("disabled account", func(t *testing.T) {
		ts := diagnoseServer(t, nil)
		ts.attempt("dave@contoso.test", alicePassword, "203.0.113.5")
		ts.attempt("dave@contoso.test", alicePassword, "203.0.113.5")
		rep := ts.diagnoseAPI("dave@contoso.test")
		if rep.Cause != diagnose.CauseDisabled || rep.Failures.CorrectPassword != 2 {
			t.Fatalf("disabled: %s %+v", rep.Cause, rep.Failures)
		}
		checkGolden(t, "disabled", rep)
	})
	t.Run("no such user", func(t *testing.T) {
		ts := diagnoseServer(t, nil)
		for i := range 2 {
			if r := ts.attempt("nobody@contoso.test", fmt.Sprint("pw", i), "203.0.113.5"); r.errorCode() != 50126 {
				t.Fatalf("the public was told more than a wrong password: %s", r.raw)
			}
		}
		rep := ts.diagnoseAPI("nobody@contoso.test")
		if rep.Cause != diagnose.CauseNoSuchUser || rep.User != nil || rep.Failures.Total != 2 {
			t.Fatalf("no such user: %s %+v", rep.Cause, rep.Failures)
		}
		checkGolden(t, "no-such-user", rep)
	})
}
