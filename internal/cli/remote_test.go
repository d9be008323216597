package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
)

// startServe runs `portcullis serve` in-process on an initialised directory.
func startServe(t *testing.T, dir string) string {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir, cfg.Listen = dir, "127.0.0.1:0"
	cfg.Passwords.Argon2 = config.Argon2{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	cfg.Detection.ReportOnly = true
	srv, err := app.Start(context.Background(), cfg, io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv.BaseURL()
}

// TestLoginAndOnlineCommands is the seed's remediation path through the
// API: a Global Administrator logs in and makes Alice a Helpdesk
// Administrator; Alice logs in, reads Bob's lockout and unlocks him; she
// cannot give herself more roles. The stored login is private to its owner.
func TestLoginAndOnlineCommands(t *testing.T) {
	dir, in := initDir(t)
	addAlice(t, dir)
	bobPW := writeFile(t, "bob-pw", alicePassword+"\n")
	runJSON(t, new(userOut), "users", "add", "--data", dir, "--upn", "bob@contoso.test", "--display-name", "Bob",
		"--password-file", bobPW, "-o", "json")
	failSignIns(t, dir, in.TenantID, "bob@contoso.test", 10)
	server := startServe(t, dir)
	t.Setenv("PORTCULLIS_DATA_DIR", "")

	adminHome := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", adminHome)
	adminLogin := filepath.Join(adminHome, "portcullis", "login.json")
	if _, _, err := runRoot(t, strings.NewReader(adminPassword+"\n"), "login", "--server", server, "--username", "admin@contoso.test"); err != nil {
		t.Fatalf("login: %v", err)
	}
	if fi, err := os.Stat(adminLogin); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stored login: %v %v", fi.Mode(), err)
	}
	if out, _, err := runRoot(t, nil, "roles", "assign", "alice@contoso.test", "Helpdesk Administrator"); err != nil ||
		!strings.Contains(out, "now holds Helpdesk Administrator") {
		t.Fatalf("online roles assign: %v %s", err, out)
	}

	var feeds struct {
		Value []feedOut `json:"value"`
	}
	runJSON(t, &feeds, "feeds", "list", "-o", "json")
	if len(feeds.Value) != 0 {
		t.Fatalf("the server has no feeds, online list says %+v", feeds.Value)
	}
	if r := execute(t, "feeds", "refresh", "nope"); r.code != 1 || !strings.Contains(r.stderr, "No feed called 'nope'") {
		t.Fatalf("online refresh of an unknown feed: %+v", r)
	}
	var added struct {
		ID                string `json:"id"`
		UserPrincipalName string `json:"userPrincipalName"`
		DisplayName       string `json:"displayName"`
		AccountEnabled    bool   `json:"accountEnabled"`
		Password          string `json:"password"`
	}
	runJSON(t, &added, "users", "add", "--upn", "dana@contoso.test", "--display-name", "Dana", "-o", "json")
	if added.ID == "" || len(added.Password) != 20 || !added.AccountEnabled {
		t.Fatalf("online users add: %+v", added)
	}
	var reset map[string]any
	runJSON(t, &reset, "users", "set-password", "dana@contoso.test", "-o", "json")
	if pw, _ := reset["password"].(string); len(pw) != 20 || pw == added.Password || reset["forceChangePasswordNextSignIn"] != true {
		t.Fatalf("online set-password: %+v", reset)
	}
	chosen := writeFile(t, "chosen", "Velvet-Harbor-Lamp-51\n")
	if r := execute(t, "users", "set-password", "dana@contoso.test", "--password-file", chosen); r.code != 2 {
		t.Fatalf("online set-password with a chosen password: %+v", r)
	}
	var loc locationOut
	runJSON(t, &loc, "locations", "add", "--name", "Office", "--cidr", "198.51.100.0/24", "--trusted", "-o", "json")
	if loc.ID == "" || !loc.Trusted || len(loc.IPRanges) != 1 {
		t.Fatalf("online locations add: %+v", loc)
	}
	if out, _, err := runRoot(t, nil, "locations", "list"); err != nil || !strings.Contains(out, "Office") {
		t.Fatalf("online locations list: %v %s", err, out)
	}
	if _, _, err := runRoot(t, nil, "locations", "remove", "Office"); err != nil {
		t.Fatalf("online locations remove: %v", err)
	}
	var pol policyOut
	runJSON(t, &pol, "lockout", "policy", "set", "--threshold", "12", "-o", "json")
	if pol.Threshold != 12 || pol.Source != policyFromTenant {
		t.Fatalf("online policy set: %+v", pol)
	}
	runJSON(t, &pol, "lockout", "policy", "show", "--data", dir, "-o", "json")
	if pol.Threshold != 12 {
		t.Fatalf("the online change is not on disk: %+v", pol)
	}
	if out, _, err := runRoot(t, nil, "users", "disable", "bob@contoso.test"); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("online disable: %v %s", err, out)
	}
	if u := storedUser(t, dir, in.TenantID, "bob@contoso.test"); u.AccountEnabled {
		t.Fatal("bob still enabled after the online disable")
	}
	if _, _, err := runRoot(t, nil, "users", "enable", "bob@contoso.test"); err != nil {
		t.Fatal(err)
	}

	// IP protection through the API: block, see the verdict the server
	// applies, list, lift.
	var blocked blockOut
	runJSON(t, &blocked, "ips", "block", "203.0.113.0/24", "--reason", "spray", "-o", "json")
	var verdict ipCheckOut
	runJSON(t, &verdict, "ips", "check", "203.0.113.9", "-o", "json")
	if verdict.Verdict != "blocked" || len(verdict.BlockRecords) != 1 || verdict.BlockRecords[0].ID != blocked.ID {
		t.Fatalf("online ips check: %+v", verdict)
	}
	if out, _, err := runRoot(t, nil, "ips", "list"); err != nil || !strings.Contains(out, "203.0.113.0/24") {
		t.Fatalf("online ips list: %v %s", err, out)
	}
	if _, _, err := runRoot(t, nil, "ips", "unblock", blocked.ID, "--reason", "false positive"); err != nil {
		t.Fatalf("online ips unblock: %v", err)
	}
	runJSON(t, &verdict, "ips", "check", "203.0.113.9", "-o", "json")
	if verdict.Verdict != "allowed" {
		t.Fatalf("after the online unblock: %+v", verdict)
	}

	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if _, _, err := runRoot(t, strings.NewReader(alicePassword+"\n"), "login", "--server", server, "--username", "alice@contoso.test"); err != nil {
		t.Fatalf("alice login: %v", err)
	}
	var st lockoutStatusJSON
	runJSON(t, &st, "users", "lockout-status", "bob@contoso.test", "-o", "json")
	if !st.Locked || st.UserPrincipalName != "bob@contoso.test" {
		t.Fatalf("online lockout-status: %+v", st)
	}
	if out, _, err := runRoot(t, nil, "users", "unlock", "bob@contoso.test", "--reason", "ticket 7"); err != nil ||
		!strings.Contains(out, "Unlocked bob@contoso.test") {
		t.Fatalf("online unlock: %v %s", err, out)
	}
	runJSON(t, &st, "users", "lockout-status", "bob@contoso.test", "-o", "json")
	if st.Locked {
		t.Fatalf("still locked after the online unlock: %+v", st)
	}
	r := execute(t, "roles", "assign", "alice@contoso.test", "Global Administrator")
	if r.code != 1 || !strings.Contains(r.stderr, "Authorization_RequestDenied") {
		t.Fatalf("helpdesk raising herself: %+v", r)
	}
	var audits struct {
		Value []map[string]any `json:"value"`
	}
	r = execute(t, "audit", "list", "--activity", "Unlock user", "-o", "json")
	if r.code != 1 || !strings.Contains(r.stderr, "Authorization_RequestDenied") {
		t.Fatalf("helpdesk reading the audit log (not in her role): %+v", r)
	}
	t.Setenv("XDG_CONFIG_HOME", adminHome)
	runJSON(t, &audits, "audit", "list", "--activity", "Unlock user", "--target", "bob@contoso.test", "-o", "json")
	if len(audits.Value) != 1 || audits.Value[0]["initiatedBy"].(map[string]any)["user"].(map[string]any)["userPrincipalName"] != "alice@contoso.test" {
		t.Fatalf("online audit list: %+v", audits.Value)
	}
	// Sign-ins in the CLI, through the API (as the GA) and offline: Bob was
	// unlocked above, so three wrong passwords are logged as 50126.
	for i := range 3 {
		form := url.Values{"grant_type": {"password"}, "client_id": {app.CLIClientID}, "username": {"bob@contoso.test"},
			"password": {fmt.Sprint("guess-", i)}, "scope": {"openid"}}
		resp, err := http.PostForm(server+"/contoso.test/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var signins struct {
		Value []map[string]any `json:"value"`
	}
	runJSON(t, &signins, "signins", "list", "--user", "bob@contoso.test", "--error-code", "50126", "-o", "json")
	if len(signins.Value) != 3 {
		t.Fatalf("online signins list: %d records", len(signins.Value))
	}
	id := signins.Value[0]["id"].(string)
	if out, _, err := runRoot(t, nil, "signins", "show", id); err != nil || !strings.Contains(out, "status.failureReason:") ||
		!strings.Contains(out, "50126") {
		t.Fatalf("online signins show: %v\n%s", err, out)
	}
	if out, _, err := runRoot(t, nil, "signins", "list", "--status", "failure", "--data", dir, "-o", "csv"); err != nil ||
		strings.Count(out, "bob@contoso.test") != 3 || !strings.HasPrefix(out, "createdDateTime,") {
		t.Fatalf("offline signins list as CSV: %v\n%s", err, out)
	}
	onlineCSV, _, err := runRoot(t, nil, "signins", "export", "--format", "csv", "--user", "bob@contoso.test")
	if err != nil || len(strings.Split(strings.TrimSpace(onlineCSV), "\n")) != 4 {
		t.Fatalf("online export: %v\n%s", err, onlineCSV)
	}
	offlineJSON, _, err := runRoot(t, nil, "signins", "export", "--format", "json", "--user", "bob@contoso.test", "--data", dir)
	var exported []map[string]any
	if err != nil || json.Unmarshal([]byte(offlineJSON), &exported) != nil || len(exported) != 3 {
		t.Fatalf("offline export: %v\n%s", err, offlineJSON)
	}
	// --data keeps working offline even with a login stored.
	runJSON(t, &st, "users", "lockout-status", "bob@contoso.test", "--data", dir, "-o", "json")
	if st.Locked {
		t.Fatalf("offline view disagrees: %+v", st)
	}
	acts := strings.Join(auditActivities(t, dir, in.TenantID), ",")
	if !strings.Contains(acts, "Add member to role") || !strings.Contains(acts, "Unlock user") {
		t.Fatalf("audit log after online changes: %s", acts)
	}
	if _, _, err := runRoot(t, nil, "logout"); err != nil {
		t.Fatal(err)
	}
}
