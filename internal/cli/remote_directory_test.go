package cli

import (
	"strings"
	"testing"
)

// TestDirectoryCommandsOnline: with a stored login, users show and import,
// banned terms, keys and apps add go through the running server with the
// caller's rights, and the server's refusals (row problems, unknown terms)
// reach the operator in full.
func TestDirectoryCommandsOnline(t *testing.T) {
	dir, in := initDir(t)
	server := startServe(t, dir)
	t.Setenv("PORTCULLIS_DATA_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if _, _, err := runRoot(t, strings.NewReader(adminPassword+"\n"), "login", "--server", server, "--username", "admin@contoso.test"); err != nil {
		t.Fatalf("login: %v", err)
	}

	csv := "userPrincipalName,displayName,password\nann@contoso.test,Ann Lee,Quiet-Harbour-Lamp-81\nbad,Bad,Quiet-Harbour-Lamp-81\n"
	mustFail(t, 1, []string{"1 problem(s)", "line 3:"}, "users", "import", writeFile(t, "bad.csv", csv))
	good := writeFile(t, "good.csv", "userPrincipalName,displayName,password\nann@contoso.test,Ann Lee,Quiet-Harbour-Lamp-81\n")
	if out, _, err := runRoot(t, nil, "users", "import", good); err != nil || !strings.Contains(out, "Imported 1 users") {
		t.Fatalf("online import: %v %s", err, out)
	}
	var ann apiUserDetail
	runJSON(t, &ann, "users", "show", "ANN@contoso.test", "-o", "json")
	if ann.UserPrincipalName != "ann@contoso.test" || !ann.AccountEnabled || ann.ID == "" {
		t.Fatalf("online users show: %+v", ann)
	}
	mustFail(t, 1, []string{"does not exist"}, "users", "show", "nobody@contoso.test")

	var terms struct {
		BannedPasswordTerms []string `json:"bannedPasswordTerms"`
	}
	runJSON(t, &terms, "users", "banned-terms", "add", "contoso", "fabrikam", "-o", "json")
	if strings.Join(terms.BannedPasswordTerms, ",") != "contoso,fabrikam" {
		t.Fatalf("online banned-terms add: %v", terms.BannedPasswordTerms)
	}
	mustFail(t, 1, []string{`"tailspin" is not a banned term`}, "users", "banned-terms", "remove", "tailspin")
	mustFail(t, 1, []string{"4 to 16 characters"}, "users", "banned-terms", "add", "abc")
	runJSON(t, &terms, "users", "banned-terms", "remove", "Fabrikam", "-o", "json")
	runJSON(t, &terms, "users", "banned-terms", "list", "-o", "json")
	if strings.Join(terms.BannedPasswordTerms, ",") != "contoso" {
		t.Fatalf("after the online remove: %v", terms.BannedPasswordTerms)
	}

	var keys keyList
	runJSON(t, &keys, "keys", "rotate", "-o", "json")
	if len(keys.Value) != 4 || keys.Value[0].Status != "active" {
		t.Fatalf("online keys rotate: %+v", keys.Value)
	}

	var created struct {
		graphApp
		ClientSecret string `json:"clientSecret"`
	}
	runJSON(t, &created, "apps", "add", "--name", "Payroll", "--confidential", "--redirect-uri", "https://payroll.contoso.test/cb", "-o", "json")
	if created.AppID == "" || created.ClientSecret == "" || created.RedirectURIs[0] != "https://payroll.contoso.test/cb" {
		t.Fatalf("online apps add: %+v", created)
	}
	mustFail(t, 2, []string{"--client-id and --secret-lifetime work offline only"},
		"apps", "add", "--name", "X", "--public", "--client-id", "0b5a7e52-5d0e-4bb5-8a0b-3a0f5c3f9d11")

	got := strings.Join(auditActivities(t, dir, in.TenantID), ",")
	for _, want := range []string{"Add user", "Update banned password terms", "Rotate signing key", "Add application"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log %s lacks %q", got, want)
		}
	}
}
