package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// auditActivities returns the activity names in the data directory's audit
// log, oldest first.
func auditActivities(t *testing.T, dir, tenantID string) []string {
	t.Helper()
	db, err := app.OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryAudits(context.Background(), store.AuditQuery{TenantID: tenantID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(rows) - 1; i >= 0; i-- {
		var rec map[string]any
		if err := json.Unmarshal(rows[i].Body, &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec["activityDisplayName"].(string))
	}
	return out
}

func TestRolesAssignListRemove(t *testing.T) {
	dir, in := initDir(t)
	addAlice(t, dir)
	var list []roleAssignmentOut
	runJSON(t, &list, "roles", "list", "--data", dir, "-o", "json")
	if len(list) != 1 || list[0].Role != "Global Administrator" || list[0].UserPrincipalName != "admin@"+testDomain {
		t.Fatalf("after init: %+v", list)
	}
	if _, _, err := runRoot(t, nil, "roles", "assign", "alice@contoso.test", "helpdesk administrator", "--data", dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runRoot(t, nil, "roles", "assign", "alice@contoso.test", rbac.HelpdeskAdministrator, "--data", dir); err == nil ||
		!strings.Contains(err.Error(), "already holds") {
		t.Fatalf("assigning twice: %v", err)
	}
	mustFail(t, 2, []string{"unknown role", "Chief Wizard"}, "roles", "assign", "alice@contoso.test", "Chief Wizard", "--data", dir)
	runJSON(t, &list, "roles", "list", "--data", dir, "-o", "json")
	if len(list) != 2 || list[1].Role != "Helpdesk Administrator" || list[1].UserPrincipalName != "alice@contoso.test" {
		t.Fatalf("after assign: %+v", list)
	}
	if _, _, err := runRoot(t, nil, "roles", "remove", "admin@"+testDomain, "Global Administrator", "--data", dir); err == nil ||
		!strings.Contains(err.Error(), "last Global Administrator") {
		t.Fatalf("removing the last Global Administrator: %v", err)
	}
	if _, _, err := runRoot(t, nil, "roles", "remove", "alice@contoso.test", "Helpdesk Administrator", "--data", dir); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(auditActivities(t, dir, in.TenantID), ",")
	if got != "Add user,Add member to role,Remove member from role" {
		t.Fatalf("audit log: %s", got)
	}
	var listed struct {
		Value []map[string]any `json:"value"`
	}
	runJSON(t, &listed, "audit", "list", "--data", dir, "--target", "alice@contoso.test", "--activity", "Remove member from role", "-o", "json")
	if len(listed.Value) != 1 || listed.Value[0]["activityDisplayName"] != "Remove member from role" {
		t.Fatalf("audit list --target --activity: %+v", listed.Value)
	}
	runJSON(t, &listed, "audit", "list", "--data", dir, "--target", "admin@"+testDomain, "-o", "json")
	if len(listed.Value) != 0 {
		t.Fatalf("audit list for a user nobody changed: %+v", listed.Value)
	}
	if out, _, err := runRoot(t, nil, "audit", "list", "--data", dir); err != nil || !strings.Contains(out, "Add member to role") ||
		!strings.Contains(out, "portcullis CLI (offline") {
		t.Fatalf("audit list table: %v\n%s", err, out)
	}
}

// TestRecoverRestoresGlobalAdministrator: a disabled, locked-out,
// de-roled administrator comes back with a new password; tokens issued
// before stop working (sessions revoked); the recovery is audited.
func TestRecoverRestoresGlobalAdministrator(t *testing.T) {
	dir, in := initDir(t)
	addAlice(t, dir)
	if _, _, err := runRoot(t, nil, "roles", "assign", "alice@contoso.test", "Global Administrator", "--data", dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runRoot(t, nil, "roles", "remove", "admin@"+testDomain, "Global Administrator", "--data", dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runRoot(t, nil, "users", "disable", "admin@"+testDomain, "--data", dir); err != nil {
		t.Fatal(err)
	}
	failSignIns(t, dir, in.TenantID, "admin@"+testDomain, 10)
	before := time.Now()
	var out struct {
		UPN      string `json:"userPrincipalName"`
		Password string `json:"password"`
		Assigned bool   `json:"globalAdministratorAssigned"`
		Cleared  int    `json:"locksCleared"`
		Revoked  bool   `json:"sessionsRevoked"`
	}
	runJSON(t, &out, "recover", "--upn", "admin@"+testDomain, "--data", dir, "-o", "json")
	if len(out.Password) != 20 || !out.Assigned || out.Cleared != 1 || !out.Revoked {
		t.Fatalf("recover output: %+v", out)
	}
	u := storedUser(t, dir, in.TenantID, "admin@"+testDomain)
	if ok, err := password.Verify(u.PasswordHash, out.Password); err != nil || !ok || !u.AccountEnabled ||
		u.SignInSessionsValidFrom.Before(before.Add(-time.Second)) {
		t.Fatalf("recovered user: enabled %v, valid from %v, password ok %v %v", u.AccountEnabled, u.SignInSessionsValidFrom, ok, err)
	}
	var st lockoutStatusJSON
	runJSON(t, &st, "users", "lockout-status", "admin@"+testDomain, "--data", dir, "-o", "json")
	if st.Locked {
		t.Fatalf("still locked after recover: %+v", st)
	}
	var list []roleAssignmentOut
	runJSON(t, &list, "roles", "list", "--data", dir, "-o", "json")
	found := false
	for _, a := range list {
		found = found || a.UserPrincipalName == "admin@"+testDomain && a.Role == "Global Administrator"
	}
	if !found {
		t.Fatalf("no Global Administrator assignment after recover: %+v", list)
	}
	acts := auditActivities(t, dir, in.TenantID)
	if acts[len(acts)-1] != "Break-glass recovery" {
		t.Fatalf("audit log: %v", acts)
	}
}

// TestOfflineChangesAreAudited: every command that changes the data
// directory leaves an audit record naming the operating-system user.
func TestOfflineChangesAreAudited(t *testing.T) {
	dir, in := initDir(t)
	addAlice(t, dir)
	pw := writeFile(t, "new-pw", "Velvet-Harbor-Lamp-51\n")
	steps := [][]string{
		{"users", "disable", "alice@contoso.test"},
		{"users", "enable", "alice@contoso.test"},
		{"users", "set-password", "alice@contoso.test", "--password-file", pw},
		{"users", "banned-terms", "add", "contoso"},
		{"lockout", "policy", "set", "--threshold", "7"},
		{"apps", "add", "--name", "Payroll", "--confidential"},
		{"ips", "block", "203.0.113.0/24", "--reason", "spray"},
		{"locations", "add", "--name", "Office", "--cidr", "198.51.100.0/24", "--trusted"},
		{"locations", "remove", "Office"},
		{"keys", "rotate"},
	}
	for _, args := range steps {
		if _, _, err := runRoot(t, nil, append(args, "--data", dir)...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	got := strings.Join(auditActivities(t, dir, in.TenantID), ",")
	want := "Add user,Update user,Update user,Reset user password,Update banned password terms,Update lockout policy," +
		"Add application,Block IP address,Add named location,Delete named location,Rotate signing key,Rotate signing key" // one per algorithm
	if got != want {
		t.Fatalf("audit log:\n got %s\nwant %s", got, want)
	}
}
