package cli

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

func TestUsersEnableDisableListShow(t *testing.T) {
	dir, _ := initDir(t)
	pwFile := writeFile(t, "pw", alicePassword+"\n")
	for _, upn := range []string{"Zed@contoso.test", "bob@contoso.test", "Alice@Contoso.test"} {
		if _, stderr, err := runRoot(t, nil, "users", "add", "--data", dir, "--upn", upn, "--display-name", "Someone",
			"--password-file", pwFile); err != nil {
			t.Fatalf("add %s: %v (%s)", upn, err, stderr)
		}
	}

	var u graphUser
	runJSON(t, &u, "users", "disable", "bob@contoso.test", "--data", dir, "-o", "json")
	if u.AccountEnabled {
		t.Error("disable returned accountEnabled true")
	}
	runJSON(t, &u, "users", "show", "BOB@contoso.test", "--data", dir, "-o", "json")
	if u.AccountEnabled {
		t.Error("disabled user shows accountEnabled true")
	}

	// Sorted by the case-insensitive login name, not by byte order of the UPN.
	var list userList
	runJSON(t, &list, "users", "list", "--data", dir, "-o", "json")
	want := []string{"admin@contoso.test", "Alice@Contoso.test", "bob@contoso.test", "Zed@contoso.test"}
	if got := upns(list.Value); !slices.Equal(got, want) {
		t.Errorf("users list = %v, want %v", got, want)
	}
	for _, g := range list.Value {
		if wantEnabled := g.UserPrincipalName != "bob@contoso.test"; g.AccountEnabled != wantEnabled {
			t.Errorf("%s accountEnabled = %t, want %t", g.UserPrincipalName, g.AccountEnabled, wantEnabled)
		}
	}

	runJSON(t, &u, "users", "enable", "bob@contoso.test", "--data", dir, "-o", "json")
	if !u.AccountEnabled {
		t.Error("enable returned accountEnabled false")
	}
	runJSON(t, &u, "users", "show", "bob@contoso.test", "--data", dir, "-o", "json")
	if !u.AccountEnabled {
		t.Error("enabled user shows accountEnabled false")
	}

	stdout, _, err := runRoot(t, nil, "users", "list", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 5 || !strings.HasPrefix(lines[0], "USER PRINCIPAL NAME") {
		t.Errorf("table list = %q", stdout)
	}

	for _, verb := range []string{"show", "enable", "disable"} {
		mustFail(t, 1, []string{"nobody@contoso.test", "not found"}, "users", verb, "nobody@contoso.test", "--data", dir)
	}
	mustFail(t, 1, []string{"not found"}, "users", "show", uuid.NewString(), "--data", dir)
}

func TestUsersSetPassword(t *testing.T) {
	dir, in := initDir(t)
	oldFile := writeFile(t, "old", alicePassword+"\n")
	if _, stderr, err := runRoot(t, nil, "users", "add", "--data", dir, "--upn", "alice@contoso.test", "--display-name", "Alice",
		"--password-file", oldFile); err != nil {
		t.Fatalf("%v (%s)", err, stderr)
	}
	before := storedUser(t, dir, in.TenantID, "alice@contoso.test")

	const newPassword = "Velvet-Thunder-Quarry-58"
	newFile := writeFile(t, "new", newPassword+"\n")
	m := jsonMap(t, "users", "set-password", "alice@contoso.test", "--password-file", newFile, "--force-change", "--data", dir, "-o", "json")
	if m["forceChangePasswordNextSignIn"] != true || m["userPrincipalName"] != "alice@contoso.test" {
		t.Errorf("set-password = %v", m)
	}
	if _, ok := m["password"]; ok {
		t.Errorf("set-password with --password-file printed a password: %v", m)
	}

	var shown graphUser
	runJSON(t, &shown, "users", "show", "alice@contoso.test", "--data", dir, "-o", "json")
	if !shown.ForceChangePasswordNextSignIn {
		t.Error("show: forceChangePasswordNextSignIn = false after --force-change")
	}
	after := storedUser(t, dir, in.TenantID, "alice@contoso.test")
	checkPassword(t, after.PasswordHash, newPassword, true)
	checkPassword(t, after.PasswordHash, alicePassword, false)
	if after.LastPasswordChangeDateTime.Before(before.LastPasswordChangeDateTime) {
		t.Errorf("lastPasswordChange went back: %v -> %v", before.LastPasswordChangeDateTime, after.LastPasswordChangeDateTime)
	}

	// Without --password-file a password is generated and shown once;
	// without --force-change the flag is cleared.
	m = jsonMap(t, "users", "set-password", "alice@contoso.test", "--data", dir, "-o", "json")
	generated, _ := m["password"].(string)
	if len(generated) != 20 || m["forceChangePasswordNextSignIn"] != false {
		t.Fatalf("set-password (generated) = %v", m)
	}
	after = storedUser(t, dir, in.TenantID, "alice@contoso.test")
	checkPassword(t, after.PasswordHash, generated, true)
	if after.ForceChangePasswordNextSignIn {
		t.Error("force change still set after set-password without --force-change")
	}

	// The policy applies here too, and a rejected password changes nothing.
	weak := writeFile(t, "weak", "password123\n")
	mustFail(t, 1, []string{"too common"}, "users", "set-password", "alice@contoso.test", "--password-file", weak, "--data", dir)
	checkPassword(t, storedUser(t, dir, in.TenantID, "alice@contoso.test").PasswordHash, generated, true)
	mustFail(t, 1, []string{"not found"}, "users", "set-password", "nobody@contoso.test", "--password-file", newFile, "--data", dir)
}

func TestUsersImport(t *testing.T) {
	dir, in := initDir(t)
	const davePassword = "Legacy-System-Pass-77"
	hash, err := bcrypt.GenerateFromPassword([]byte(davePassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	csvFile := writeFile(t, "users.csv", "userPrincipalName,displayName,password,passwordHash,mail,accountEnabled\n"+
		"Carol@contoso.test,Carol Jones,Plain-Text-Import-42,,,\n"+
		"dave@contoso.test,Dave Brown,,"+string(hash)+",d.brown@contoso.test,false\n")
	var out struct {
		Imported int `json:"imported"`
	}
	runJSON(t, &out, "users", "import", csvFile, "--data", dir, "-o", "json")
	if out.Imported != 2 {
		t.Errorf("imported = %d, want 2", out.Imported)
	}
	if acts := auditActivities(t, dir, in.TenantID); strings.Count(strings.Join(acts, ","), "Add user") != 2 {
		t.Errorf("audit log after importing 2 users: %v, want an Add user record for each", acts)
	}

	var list userList
	runJSON(t, &list, "users", "list", "--data", dir, "-o", "json")
	want := []string{"admin@contoso.test", "Carol@contoso.test", "dave@contoso.test"}
	if got := upns(list.Value); !slices.Equal(got, want) {
		t.Fatalf("users after import = %v, want %v", got, want)
	}
	carol, dave := list.Value[1], list.Value[2]
	if carol.PasswordHashScheme != "argon2id" || !carol.AccountEnabled || carol.DisplayName != "Carol Jones" {
		t.Errorf("carol = %+v", carol)
	}
	if dave.PasswordHashScheme != "bcrypt" || dave.AccountEnabled || dave.Mail != "d.brown@contoso.test" {
		t.Errorf("dave = %+v", dave)
	}
	checkPassword(t, storedUser(t, dir, in.TenantID, "carol@contoso.test").PasswordHash, "Plain-Text-Import-42", true)
	storedDave := storedUser(t, dir, in.TenantID, "dave@contoso.test")
	if storedDave.PasswordHash != string(hash) {
		t.Errorf("bcrypt hash not stored verbatim: %q", storedDave.PasswordHash)
	}
	checkPassword(t, storedDave.PasswordHash, davePassword, true)

	stdout, _, err := runRoot(t, nil, "users", "import", writeFile(t, "one.csv",
		"userPrincipalName,displayName,password\nerin@contoso.test,Erin,Plain-Text-Import-43\n"), "--data", dir)
	if err != nil || !strings.Contains(stdout, "Imported 1 users") {
		t.Errorf("table import: %q, %v", stdout, err)
	}
}

func TestUsersImportAllOrNothing(t *testing.T) {
	dir, _ := initDir(t)
	const header = "userPrincipalName,displayName,password\n"
	const good = "frank@contoso.test,Frank,Plain-Text-Import-42\n"
	tests := []struct {
		name string
		csv  string
		msgs []string
	}{
		{"foreign domain", header + good + "gina@fabrikam.test,Gina,Plain-Text-Import-42\n",
			[]string{"line 3", "not a verified domain"}},
		{"common password", header + good + "gina@contoso.test,Gina,password123\n",
			[]string{"line 3", "too common"}},
		{"duplicate in file", header + good + "hank@contoso.test,Hank,Plain-Text-Import-42\nFRANK@contoso.test,Frank 2,Plain-Text-Import-42\n",
			[]string{"line 4", "already used on line 2"}},
		{"two bad rows", header + "x@fabrikam.test,X,Plain-Text-Import-42\n" + good + "y,Y,Plain-Text-Import-42\n",
			[]string{"2 problem(s)", "line 2", "line 4"}},
		{"bad hash", "userPrincipalName,displayName,passwordHash\nfrank@contoso.test,Frank,$2a$04$tooshort\n",
			[]string{"line 2", "bcrypt"}},
		{"unknown column", "userPrincipalName,displayName,password,phone\n" + good, []string{`unknown CSV column "phone"`}},
		{"admin already exists", header + good + "Admin@contoso.test,Admin 2,Plain-Text-Import-42\n",
			[]string{"nothing imported", "line 3: admin@contoso.test already belongs to a user"}},
		{"no rows", header, []string{"no users"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustFail(t, 1, tt.msgs, "users", "import", writeFile(t, "bad.csv", tt.csv), "--data", dir)
		})
	}
	var list userList
	runJSON(t, &list, "users", "list", "--data", dir, "-o", "json")
	if got := upns(list.Value); !slices.Equal(got, []string{"admin@contoso.test"}) {
		t.Errorf("users after failed imports = %v", got)
	}
	mustFail(t, 1, []string{"open"}, "users", "import", filepath.Join(t.TempDir(), "missing.csv"), "--data", dir)
}
