package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// lockoutStatusJSON mirrors `users lockout-status -o json`.
type lockoutStatusJSON struct {
	ID                string               `json:"id"`
	UserPrincipalName string               `json:"userPrincipalName"`
	Locked            bool                 `json:"locked"`
	Budgets           []guard.BudgetStatus `json:"budgets"`
	Lockouts          []store.Lockout      `json:"lockouts"`
}

// addAlice adds alice@contoso.test with alicePassword and returns her ID.
func addAlice(t *testing.T, dir string) string {
	t.Helper()
	pwFile := writeFile(t, "alice-pw", alicePassword+"\n")
	var added userOut
	runJSON(t, &added, "users", "add", "--data", dir, "--upn", "alice@contoso.test", "--display-name", "Alice",
		"--password-file", pwFile, "-o", "json")
	return added.ID
}

// failSignIns presents n distinct wrong passwords for upn through a guard on
// the data directory (repeated identical ones would be forgiven as typos).
func failSignIns(t *testing.T, dir, tenantID, upn string, n int) {
	t.Helper()
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.DataDir = dir
	cfg.Passwords.Argon2 = config.Argon2{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}
	db, err := app.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g, err := app.NewGuard(ctx, cfg, db, nil, nil, app.IPSources{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := directory.LoginKey(upn)
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByLogin(ctx, tenantID, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		a := guard.Attempt{TenantID: tenantID, User: &u, LoginKey: u.LoginKey, Password: fmt.Sprintf("wrong-%d", i)}
		if _, err := g.CheckPassword(ctx, a); err != nil {
			t.Fatalf("CheckPassword %d: %v", i, err)
		}
	}
}

func TestLockoutPolicyShowAndSet(t *testing.T) {
	dir, _ := initDir(t)
	var def policyOut
	runJSON(t, &def, "lockout", "policy", "show", "--data", dir, "-o", "json")
	want := policyOut{Threshold: 10, Duration: "1m0s", MaxDuration: "1h0m0s", ObservationWindow: "1h0m0s",
		FamiliarNetworkDays: 30, DeviceCookieThreshold: 5, Source: "config"}
	if def != want {
		t.Fatalf("policy show = %+v, want %+v", def, want)
	}

	var set policyOut
	runJSON(t, &set, "lockout", "policy", "set", "--threshold", "3", "--duration", "30s", "--data", dir, "-o", "json")
	want.Threshold, want.Duration, want.Source = 3, "30s", "tenant"
	if set != want {
		t.Errorf("policy set = %+v, want %+v", set, want)
	}
	var shown policyOut
	runJSON(t, &shown, "lockout", "policy", "show", "--data", dir, "-o", "json")
	if shown != want {
		t.Errorf("policy show after set = %+v, want %+v", shown, want)
	}

	// Invalid values are refused, every problem named, nothing stored.
	mustFail(t, 1, []string{"invalid lockout policy", "threshold must be from 1 to 1000"},
		"lockout", "policy", "set", "--threshold", "0", "--data", dir)
	mustFail(t, 1, []string{"max_duration must be at least duration"},
		"lockout", "policy", "set", "--max-duration", "10s", "--data", dir)
	mustFail(t, 1, []string{"threshold", "familiar_network_days", "device_cookie_threshold"},
		"lockout", "policy", "set", "--threshold", "-1", "--familiar-network-days", "400",
		"--device-cookie-threshold", "0", "--data", dir)
	runJSON(t, &shown, "lockout", "policy", "show", "--data", dir, "-o", "json")
	if shown != want {
		t.Errorf("policy after refused sets = %+v, want %+v", shown, want)
	}

	// Table output names the source.
	stdout, _, err := runRoot(t, nil, "lockout", "policy", "show", "--data", dir)
	if err != nil || !strings.Contains(stdout, "tenant override") || !strings.Contains(stdout, "30s") {
		t.Errorf("policy show table: %v\n%s", err, stdout)
	}
}

func TestUsersLockoutStatusAndUnlock(t *testing.T) {
	dir, in := initDir(t)
	id := addAlice(t, dir)
	runJSON(t, new(policyOut), "lockout", "policy", "set", "--threshold", "3", "--data", dir, "-o", "json")

	var st lockoutStatusJSON
	runJSON(t, &st, "users", "lockout-status", "alice@contoso.test", "--data", dir, "-o", "json")
	if st.Locked || len(st.Budgets) != 0 || len(st.Lockouts) != 0 || st.ID != id || st.UserPrincipalName != "alice@contoso.test" {
		t.Fatalf("fresh lockout-status = %+v", st)
	}

	failSignIns(t, dir, in.TenantID, "alice@contoso.test", 3)
	runJSON(t, &st, "users", "lockout-status", id, "--data", dir, "-o", "json")
	if !st.Locked || len(st.Budgets) != 1 || len(st.Lockouts) != 1 {
		t.Fatalf("lockout-status after 3 failures = %+v", st)
	}
	if b := st.Budgets[0]; b.Class != guard.ClassUnfamiliar || b.Failures != 3 || b.Threshold != 3 || !b.Locked {
		t.Errorf("budget = %+v", b)
	}
	if l := st.Lockouts[0]; !l.ClearedAt.IsZero() || l.Class != guard.ClassUnfamiliar || l.Subject != id {
		t.Errorf("lockout before unlock = %+v", l)
	}
	stdout, _, err := runRoot(t, nil, "users", "lockout-status", "alice@contoso.test", "--data", dir)
	if err != nil || !strings.Contains(stdout, "Locked now:") || !strings.Contains(stdout, "3/3") {
		t.Errorf("lockout-status table: %v\n%s", err, stdout)
	}

	stdout, _, err = runRoot(t, nil, "users", "unlock", "alice@contoso.test", "--reason", "verified by phone", "--data", dir)
	if err != nil || !strings.Contains(stdout, "1 active lock cleared") {
		t.Fatalf("unlock: %v\n%s", err, stdout)
	}

	runJSON(t, &st, "users", "lockout-status", "alice@contoso.test", "--data", dir, "-o", "json")
	if st.Locked || len(st.Lockouts) != 1 {
		t.Fatalf("lockout-status after unlock = %+v", st)
	}
	for _, b := range st.Budgets {
		if b.Failures != 0 || b.Locked {
			t.Errorf("budget after unlock = %+v", b)
		}
	}
	l := st.Lockouts[0]
	if l.ClearedAt.IsZero() || !strings.HasPrefix(l.ClearedBy, "cli:") || l.ClearedHow != "admin-unlock" ||
		l.ClearReason != "verified by phone" {
		t.Errorf("lockout after unlock = %+v", l)
	}

	// A second unlock clears nothing; JSON reports the count.
	m := jsonMap(t, "users", "unlock", id, "--data", dir, "-o", "json")
	if m["cleared"] != float64(0) || m["reason"] != "unlocked with the portcullis CLI" {
		t.Errorf("second unlock = %v", m)
	}
}

func TestUsersLockoutUnknownUser(t *testing.T) {
	dir, _ := initDir(t)
	mustFail(t, 1, []string{"nobody@contoso.test", "not found"}, "users", "unlock", "nobody@contoso.test", "--data", dir)
	mustFail(t, 1, []string{"not found"}, "users", "lockout-status", "nobody@contoso.test", "--data", dir)
}
