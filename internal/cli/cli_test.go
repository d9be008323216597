package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/store"
)

const (
	testDomain    = "contoso.test"
	adminPassword = "Sturdy-Lantern-Orbit-73"
	alicePassword = "Correct-Horse-Battery-9"
)

// fastHashing keeps argon2id cheap: config.Load reads os.Environ().
func fastHashing(t *testing.T) {
	t.Helper()
	t.Setenv("PORTCULLIS_PASSWORDS__ARGON2__MEMORY_KIB", "1024")
	t.Setenv("PORTCULLIS_PASSWORDS__ARGON2__ITERATIONS", "1")
}

// writeFile writes content to name in a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runRoot drives the command tree through NewRoot and ExecuteContext.
func runRoot(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRoot(&out, &errOut)
	root.SetArgs(args)
	if stdin != nil {
		root.SetIn(stdin)
	}
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// result is one Execute call.
type result struct {
	code           int
	stdout, stderr string
}

// execute runs the CLI as main does and returns the exit code and output.
func execute(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(args, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// mustFail runs args, expects exit code want and stderr containing every
// one of msgs.
func mustFail(t *testing.T, want int, msgs []string, args ...string) result {
	t.Helper()
	r := execute(t, args...)
	if r.code != want {
		t.Fatalf("%v: exit code %d, want %d (stdout %q, stderr %q)", args, r.code, want, r.stdout, r.stderr)
	}
	for _, m := range msgs {
		if !strings.Contains(r.stderr, m) {
			t.Errorf("%v: stderr %q does not mention %q", args, r.stderr, m)
		}
	}
	return r
}

// runJSON runs args (which should include -o json), requires success and
// decodes stdout into v.
func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	stdout, stderr, err := runRoot(t, nil, args...)
	if err != nil {
		t.Fatalf("%v: %v (stderr %q)", args, err, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%v: decode %q: %v", args, stdout, err)
	}
}

// jsonMap runs args and decodes the JSON object into a map, to check which
// fields are present.
func jsonMap(t *testing.T, args ...string) map[string]any {
	t.Helper()
	stdout, stderr, err := runRoot(t, nil, args...)
	if err != nil {
		t.Fatalf("%v: %v (stderr %q)", args, err, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("%v: decode %q: %v", args, stdout, err)
	}
	return m
}

type initOut struct {
	TenantID      string `json:"tenantId"`
	Domain        string `json:"domain"`
	Admin         string `json:"admin"`
	AdminPassword string `json:"adminPassword"`
	CLIClientID   string `json:"cliClientId"`
	SigningKeyID  string `json:"signingKeyId"`
	DataDir       string `json:"dataDir"`
}

// userOut is graphUser plus the generated password of users add.
type userOut struct {
	graphUser
	Password string `json:"password"`
}

type userList struct {
	Value []graphUser `json:"value"`
}

type appOut struct {
	graphApp
	ClientSecret string `json:"clientSecret"`
}

type appList struct {
	Value []graphApp `json:"value"`
}

type keyOut struct {
	KeyID        string `json:"kid"`
	Algorithm    string `json:"alg"`
	Status       string `json:"status"`
	Created      string `json:"createdDateTime"`
	PublishUntil string `json:"publishedUntil"`
}

type keyList struct {
	Value []keyOut `json:"value"`
}

// initDir initialises a fresh data directory for contoso.test with the
// admin password adminPassword and returns the directory and init's output.
func initDir(t *testing.T) (string, initOut) {
	t.Helper()
	fastHashing(t)
	dir := filepath.Join(t.TempDir(), "data")
	pwFile := writeFile(t, "admin-pw", adminPassword+"\n")
	var out initOut
	runJSON(t, &out, "init", "--data", dir, "--domain", testDomain, "--admin-password-file", pwFile, "-o", "json")
	return dir, out
}

// storedUser reads a user straight from the data directory.
func storedUser(t *testing.T, dir, tenantID, upn string) store.User {
	t.Helper()
	ctx := context.Background()
	db, err := app.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, err := directory.LoginKey(upn)
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByLogin(ctx, tenantID, key)
	if err != nil {
		t.Fatalf("UserByLogin(%s): %v", key, err)
	}
	return u
}

// checkPassword asserts that the stored hash accepts plain.
func checkPassword(t *testing.T, hash, plain string, want bool) {
	t.Helper()
	ok, err := password.Verify(hash, plain)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if ok != want {
		t.Errorf("Verify(hash, %q) = %t, want %t", plain, ok, want)
	}
}

func upns(users []graphUser) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.UserPrincipalName
	}
	return out
}

func TestInit(t *testing.T) {
	dir, out := initDir(t)
	if _, err := uuid.Parse(out.TenantID); err != nil {
		t.Errorf("tenantId %q is not a GUID: %v", out.TenantID, err)
	}
	if out.Domain != testDomain || out.Admin != "admin@"+testDomain || out.CLIClientID != app.CLIClientID || out.DataDir != dir {
		t.Errorf("init = %+v", out)
	}
	if out.SigningKeyID == "" {
		t.Error("init reported no signing key")
	}
	if out.AdminPassword != "" {
		t.Errorf("init with --admin-password-file printed adminPassword %q", out.AdminPassword)
	}
	// The trailing newline of the file is not part of the password.
	admin := storedUser(t, dir, out.TenantID, "admin@contoso.test")
	checkPassword(t, admin.PasswordHash, adminPassword, true)
	checkPassword(t, admin.PasswordHash, adminPassword+"\n", false)
	if !admin.AccountEnabled || admin.DisplayName != "Administrator" {
		t.Errorf("admin = %+v", admin)
	}

	// A second init must not touch the directory.
	pwFile := writeFile(t, "pw", "Another-Fine-Secret-11\n")
	mustFail(t, 1, []string{"already initialised"},
		"init", "--data", dir, "--domain", "fabrikam.test", "--admin-password-file", pwFile)
	var users userList
	runJSON(t, &users, "users", "list", "--data", dir, "-o", "json")
	if got := upns(users.Value); !slices.Equal(got, []string{"admin@contoso.test"}) {
		t.Errorf("users after second init = %v", got)
	}
}

func TestInitGeneratesAdminPassword(t *testing.T) {
	fastHashing(t)
	dir := t.TempDir()
	m := jsonMap(t, "init", "--data-dir", dir, "--domain", "Contoso.Test", "-o", "json")
	pw, _ := m["adminPassword"].(string)
	if len(pw) != 20 {
		t.Fatalf("adminPassword = %q, want 20 characters", pw)
	}
	if m["domain"] != testDomain || m["admin"] != "admin@contoso.test" {
		t.Errorf("init = %v", m)
	}
	admin := storedUser(t, dir, m["tenantId"].(string), "admin@contoso.test")
	checkPassword(t, admin.PasswordHash, pw, true)
}

func TestInitTable(t *testing.T) {
	fastHashing(t)
	dir := t.TempDir()
	pwFile := writeFile(t, "pw", adminPassword+"\r\n")
	stdout, _, err := runRoot(t, nil, "init", "--data", dir, "--domain", testDomain, "--admin-password-file", pwFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Tenant:", "contoso.test", "admin@contoso.test", app.CLIClientID} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table output %q lacks %q", stdout, want)
		}
	}
	if strings.Contains(stdout, "Password:") {
		t.Errorf("table output shows a password although one was given: %q", stdout)
	}
}

// A rejected administrator must not leave a half-initialised directory
// behind: init must be retryable with a better password.
func TestInitRejectedAdminPasswordIsRetryable(t *testing.T) {
	fastHashing(t)
	dir := t.TempDir()
	weak := writeFile(t, "weak", "password123\n")
	mustFail(t, 1, []string{"too common"}, "init", "--data", dir, "--domain", testDomain, "--admin-password-file", weak)
	mustFail(t, 1, []string{"not a verified domain"},
		"init", "--data", dir, "--domain", testDomain, "--admin-upn", "root@fabrikam.test")
	mustFail(t, 1, []string{"not initialised"}, "users", "list", "--data", dir)

	good := writeFile(t, "good", adminPassword+"\n")
	var out initOut
	runJSON(t, &out, "init", "--data", dir, "--domain", testDomain, "--admin-password-file", good, "-o", "json")
	if out.Admin != "admin@contoso.test" || out.SigningKeyID == "" {
		t.Errorf("retried init = %+v", out)
	}
}

func TestUsageErrors(t *testing.T) {
	dir, _ := initDir(t)
	empty := writeFile(t, "empty", "\n")
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"init without --domain", []string{"init", "--data", t.TempDir()}, `"domain"`},
		{"yaml output", []string{"users", "list", "--data", dir, "-o", "yaml"}, "--output must be table or json"},
		{"yaml output for init", []string{"init", "--data", t.TempDir(), "--domain", testDomain, "-o", "yaml"}, "--output"},
		{"public and confidential", []string{"apps", "add", "--data", dir, "--name", "X", "--public", "--confidential"}, "exactly one of"},
		{"neither public nor confidential", []string{"apps", "add", "--data", dir, "--name", "X"}, "exactly one of"},
		{"unknown flag", []string{"users", "list", "--data", dir, "--nope"}, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"show without argument", []string{"users", "show", "--data", dir}, "accepts 1 arg"},
		{"empty password file", []string{"users", "add", "--data", dir, "--upn", "e@contoso.test", "--display-name", "E", "--password-file", empty}, "is empty"},
		{"add without display name", []string{"users", "add", "--data", dir, "--upn", "e@contoso.test"}, "display-name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustFail(t, 2, []string{tt.msg}, tt.args...)
		})
	}
}

func TestUsersAddAndShow(t *testing.T) {
	dir, in := initDir(t)
	pwFile := writeFile(t, "alice-pw", alicePassword+"\n")
	var added userOut
	runJSON(t, &added, "users", "add", "--data", dir, "--upn", "Alice@Contoso.test", "--display-name", "Alice",
		"--mail", "alice.smith@contoso.test", "--password-file", pwFile, "-o", "json")
	if added.Password != "" {
		t.Errorf("users add with --password-file printed a password: %q", added.Password)
	}

	var shown graphUser
	runJSON(t, &shown, "users", "show", "alice@contoso.test", "--data", dir, "-o", "json")
	if shown.UserPrincipalName != "Alice@Contoso.test" || shown.DisplayName != "Alice" || !shown.AccountEnabled ||
		shown.PasswordHashScheme != "argon2id" || shown.ForceChangePasswordNextSignIn || shown.Mail != "alice.smith@contoso.test" {
		t.Errorf("users show = %+v", shown)
	}
	if shown.ID != added.ID {
		t.Errorf("show id %s, add id %s", shown.ID, added.ID)
	}
	for _, ts := range []string{shown.CreatedDateTime, shown.LastPasswordChangeDateTime} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("timestamp %q: %v", ts, err)
		}
	}

	// The same user is found by ID and by mail.
	for _, ref := range []string{added.ID, "ALICE.SMITH@contoso.test"} {
		var byRef graphUser
		runJSON(t, &byRef, "users", "show", ref, "--data", dir, "-o", "json")
		if byRef.ID != added.ID {
			t.Errorf("users show %s = %s, want %s", ref, byRef.ID, added.ID)
		}
	}
	checkPassword(t, storedUser(t, dir, in.TenantID, "alice@contoso.test").PasswordHash, alicePassword, true)

	// A second user with the same UPN in another case is a conflict.
	r := execute(t, "users", "add", "--data", dir, "--upn", "ALICE@contoso.test", "--display-name", "Alice 2", "--password-file", pwFile)
	if r.code != 1 || !strings.Contains(r.stderr, "conflict") {
		t.Errorf("duplicate add: code %d, stderr %q", r.code, r.stderr)
	}
}

func TestUsersAddPasswordFromStdin(t *testing.T) {
	dir, in := initDir(t)
	_, stderr, err := runRoot(t, strings.NewReader(alicePassword+"\n"),
		"users", "add", "--data", dir, "--upn", "bob@contoso.test", "--display-name", "Bob", "--password-file", "-", "--disabled")
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, stderr)
	}
	u := storedUser(t, dir, in.TenantID, "bob@contoso.test")
	checkPassword(t, u.PasswordHash, alicePassword, true)
	if u.AccountEnabled {
		t.Error("--disabled user is enabled")
	}
}

func TestUsersAddGeneratesPassword(t *testing.T) {
	dir, in := initDir(t)
	var added userOut
	runJSON(t, &added, "users", "add", "--data", dir, "--upn", "carol@contoso.test", "--display-name", "Carol", "-o", "json")
	if len(added.Password) != 20 {
		t.Fatalf("generated password %q, want 20 characters", added.Password)
	}
	checkPassword(t, storedUser(t, dir, in.TenantID, "carol@contoso.test").PasswordHash, added.Password, true)

	// Shown once: show does not reveal it.
	m := jsonMap(t, "users", "show", "carol@contoso.test", "--data", dir, "-o", "json")
	if _, ok := m["password"]; ok {
		t.Errorf("users show reveals a password: %v", m)
	}
}

func TestUsersAddRejected(t *testing.T) {
	dir, _ := initDir(t)
	tests := []struct {
		name, upn, password string
		msgs                []string
	}{
		{"common password", "dave@contoso.test", "password123", []string{"dave@contoso.test", "too common"}},
		{"common password after normalisation", "dave@contoso.test", "P@ssw0rd", []string{"too common"}},
		{"too short", "dave@contoso.test", "Xy7#", []string{"at least 8 characters"}},
		{"contains the user name", "dave@contoso.test", "Dave-Rides-Again-42", []string{"must not contain your name"}},
		{"foreign domain", "dave@fabrikam.test", alicePassword, []string{"dave@fabrikam.test", "not a verified domain"}},
		{"malformed UPN", "dave", alicePassword, []string{"name@domain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pwFile := writeFile(t, "pw", tt.password+"\n")
			mustFail(t, 1, tt.msgs, "users", "add", "--data", dir, "--upn", tt.upn, "--display-name", "Dave", "--password-file", pwFile)
		})
	}
	var users userList
	runJSON(t, &users, "users", "list", "--data", dir, "-o", "json")
	if got := upns(users.Value); !slices.Equal(got, []string{"admin@contoso.test"}) {
		t.Errorf("users after rejected adds = %v", got)
	}
}

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
			[]string{"nothing imported", "conflict"}},
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

func TestApps(t *testing.T) {
	dir, _ := initDir(t)
	m := jsonMap(t, "apps", "add", "--data", dir, "--name", "Payroll", "--confidential",
		"--redirect-uri", "https://payroll.contoso.test/cb", "-o", "json")
	secret, _ := m["clientSecret"].(string)
	if len(secret) < 40 {
		t.Errorf("clientSecret %q too short", secret)
	}
	var payroll appOut
	runJSON(t, &payroll, "apps", "add", "--data", dir, "--name", "Payroll 2", "--confidential",
		"--redirect-uri", "https://payroll.contoso.test/cb", "--redirect-uri", "http://localhost:8400/cb", "-o", "json")
	if _, err := uuid.Parse(payroll.AppID); err != nil || payroll.AppID != strings.ToLower(payroll.AppID) {
		t.Errorf("appId %q is not a lower-case GUID (%v)", payroll.AppID, err)
	}
	if payroll.IsFallbackPublicClient || payroll.DisplayName != "Payroll 2" ||
		!slices.Equal(payroll.RedirectURIs, []string{"https://payroll.contoso.test/cb", "http://localhost:8400/cb"}) ||
		!slices.Equal(payroll.AllowedGrants, []string{store.GrantClientCredentials}) {
		t.Errorf("confidential app = %+v", payroll)
	}
	if len(payroll.SecretHints) != 1 || !strings.HasPrefix(payroll.SecretHints[0], payroll.ClientSecret[:3]+"...") {
		t.Errorf("secretHints %v do not match the secret", payroll.SecretHints)
	}

	const fixedID = "0F8FAD5B-D9CB-469F-A165-70867728950E"
	cli2 := jsonMap(t, "apps", "add", "--data", dir, "--name", "CLI2", "--public", "--allow-password-grant",
		"--client-id", fixedID, "-o", "json")
	if _, ok := cli2["clientSecret"]; ok {
		t.Errorf("public app got a client secret: %v", cli2)
	}
	if cli2["appId"] != strings.ToLower(fixedID) || cli2["isFallbackPublicClient"] != true {
		t.Errorf("public app = %v", cli2)
	}
	grants, _ := json.Marshal(cli2["allowedGrantTypes"])
	if string(grants) != `["password","refresh_token"]` {
		t.Errorf("public app grants = %s", grants)
	}

	// The same client ID twice is a conflict.
	mustFail(t, 1, []string{"conflict"}, "apps", "add", "--data", dir, "--name", "CLI3", "--public", "--client-id", strings.ToLower(fixedID))
	for _, bad := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--confidential", "--redirect-uri", "http://payroll.contoso.test/cb"}, "plain http"},
		{[]string{"--confidential", "--redirect-uri", "myapp://cb"}, "confidential apps need https"},
		{[]string{"--public", "--client-id", "not-a-guid"}, "not a GUID"},
	} {
		mustFail(t, 1, []string{bad.msg}, append([]string{"apps", "add", "--data", dir, "--name", "Bad"}, bad.args...)...)
	}

	var list appList
	runJSON(t, &list, "apps", "list", "--data", dir, "-o", "json")
	var names, ids []string
	for _, a := range list.Value {
		names, ids = append(names, a.DisplayName), append(ids, a.AppID)
	}
	if want := []string{"CLI2", "Payroll", "Payroll 2", "Portcullis CLI"}; !slices.Equal(names, want) {
		t.Fatalf("apps list = %v, want %v", names, want)
	}
	builtin := list.Value[3]
	if builtin.AppID != app.CLIClientID || !builtin.IsFallbackPublicClient || len(builtin.SecretHints) != 0 ||
		!slices.Equal(builtin.RedirectURIs, []string{"http://localhost"}) {
		t.Errorf("built-in CLI app = %+v", builtin)
	}
	if ids[2] != payroll.AppID || ids[0] != strings.ToLower(fixedID) {
		t.Errorf("apps list ids = %v", ids)
	}
	stdout, _, err := runRoot(t, nil, "apps", "list", "--data", dir)
	if err != nil || !strings.Contains(stdout, "Portcullis CLI") || !strings.Contains(stdout, "confidential") {
		t.Errorf("table apps list = %q, %v", stdout, err)
	}
}

func TestKeys(t *testing.T) {
	dir, in := initDir(t)
	var keys keyList
	runJSON(t, &keys, "keys", "list", "--data", dir, "-o", "json")
	if len(keys.Value) != 1 {
		t.Fatalf("keys after init = %+v", keys.Value)
	}
	first := keys.Value[0]
	if first.KeyID != in.SigningKeyID || first.Status != "active" || first.Algorithm != "RS256" || first.PublishUntil != "" {
		t.Errorf("initial key = %+v (init reported %s)", first, in.SigningKeyID)
	}

	start := time.Now()
	var rotated keyList
	runJSON(t, &rotated, "keys", "rotate", "--data", dir, "-o", "json")
	runJSON(t, &keys, "keys", "list", "--data", dir, "-o", "json")
	if !reflect.DeepEqual(rotated, keys) {
		t.Errorf("rotate printed %+v, list %+v", rotated, keys)
	}
	if len(keys.Value) != 2 {
		t.Fatalf("keys after rotate = %+v", keys.Value)
	}
	newest, old := keys.Value[0], keys.Value[1]
	if newest.Status != "active" || newest.KeyID == first.KeyID || newest.PublishUntil != "" {
		t.Errorf("new key = %+v", newest)
	}
	if old.KeyID != first.KeyID || old.Status != "retired, published" {
		t.Errorf("old key = %+v", old)
	}
	until, err := time.Parse(time.RFC3339, old.PublishUntil)
	if err != nil {
		t.Fatalf("publishedUntil %q: %v", old.PublishUntil, err)
	}
	// Tokens live an hour by default; the old key must outlive them.
	if minUntil := start.Add(time.Hour); until.Before(minUntil) {
		t.Errorf("publishedUntil %v is before %v", until, minUntil)
	}
	stdout, _, err := runRoot(t, nil, "keys", "list", "--data", dir)
	if err != nil || !strings.Contains(stdout, "retired, published") || !strings.Contains(stdout, newest.KeyID) {
		t.Errorf("table keys list = %q, %v", stdout, err)
	}
}

func TestCommandsNeedInitialisedDirectory(t *testing.T) {
	fastHashing(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"users", "list"}, {"users", "show", "a@contoso.test"}, {"apps", "list"},
		{"apps", "add", "--name", "X", "--public"}, {"users", "import", "x.csv"},
	} {
		mustFail(t, 1, []string{"not initialised", "portcullis init"}, append(args, "--data", dir)...)
	}
}

func TestConfigDefaultsValidate(t *testing.T) {
	fastHashing(t)
	stdout, _, err := runRoot(t, nil, "config", "defaults")
	if err != nil {
		t.Fatal(err)
	}
	// The defaults load back unchanged.
	file := writeFile(t, "portcullis.yaml", stdout)
	cfg, err := config.Load(config.LoadOptions{File: file})
	if err != nil {
		t.Fatalf("load defaults: %v", err)
	}
	if !reflect.DeepEqual(cfg, config.Defaults()) {
		t.Errorf("defaults round trip:\n got %+v\nwant %+v", cfg, config.Defaults())
	}
	r := execute(t, "config", "validate", "--config", file)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "configuration is valid" {
		t.Errorf("validate defaults: %+v", r)
	}
}

func TestConfigValidateErrors(t *testing.T) {
	fastHashing(t)
	tests := []struct {
		name string
		file string // YAML; "" = no --config
		env  map[string]string
		args []string
		code int
		msgs []string
	}{
		// Unknown keys and wrong types are *KeyError, not *ValidationError.
		{name: "unknown key", file: "listen: 127.0.0.1:9000\nlisten_port: 9000\n", code: 1,
			msgs: []string{`unknown key "listen_port"`, "config file"}},
		{name: "unknown nested key", file: "passwords:\n  argon2:\n    memroy_kib: 4096\n", code: 1,
			msgs: []string{`"passwords.argon2.memroy_kib"`}},
		{name: "wrong type", file: "passwords:\n  min_length: many\n", code: 1,
			msgs: []string{`"passwords.min_length"`}},
		{name: "unknown env key", env: map[string]string{"PORTCULLIS_LISTN": "127.0.0.1:1"}, code: 1,
			msgs: []string{`unknown key "listn"`, "PORTCULLIS_LISTN"}},
		{name: "missing file", file: "-", code: 1, msgs: []string{"reading config file"}},
		// Values that decode but fail Validate exit with 3.
		{name: "bad listen from env", env: map[string]string{"PORTCULLIS_LISTEN": "bad"}, code: 3,
			msgs: []string{"listen:", `"bad" is not a host:port`}},
		{name: "bad listen from flag", args: []string{"--listen", "127.0.0.1:http"}, code: 3,
			msgs: []string{"listen:", "must be a number"}},
		{name: "bad value in file", file: "log:\n  level: loud\n", code: 3, msgs: []string{"log.level:", `"loud"`}},
		{name: "every problem reported", file: "log:\n  level: loud\n  format: xml\n", code: 3,
			msgs: []string{"log.level:", "log.format:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append([]string{"config", "validate"}, tt.args...)
			switch tt.file {
			case "":
			case "-":
				args = append(args, "--config", filepath.Join(t.TempDir(), "missing.yaml"))
			default:
				args = append(args, "--config", writeFile(t, "c.yaml", tt.file))
			}
			r := mustFail(t, tt.code, tt.msgs, args...)
			if strings.Contains(r.stdout, "configuration is valid") {
				t.Errorf("stdout %q claims success", r.stdout)
			}
		})
	}
}

// Other commands load the same configuration and fail the same way.
func TestConfigErrorsStopCommands(t *testing.T) {
	dir, _ := initDir(t)
	t.Setenv("PORTCULLIS_LISTEN", "bad")
	mustFail(t, 3, []string{"listen:"}, "users", "list", "--data", dir)
	t.Setenv("PORTCULLIS_PASSWORDS__ARGON2__MEMORY_KIB", "8")
	mustFail(t, 3, []string{"passwords.argon2.memory_kib"}, "keys", "list", "--data", dir)
}

func TestBannedTermsCommand(t *testing.T) {
	data, _ := initDir(t)
	var terms struct {
		BannedPasswordTerms []string `json:"bannedPasswordTerms"`
	}
	runJSON(t, &terms, "users", "banned-terms", "add", "contoso", "Winter", "--data", data, "-o", "json")
	if strings.Join(terms.BannedPasswordTerms, ",") != "Winter,contoso" {
		t.Fatalf("after add: %v", terms.BannedPasswordTerms)
	}
	pwFile := writeFile(t, "pw", "C0nt0s0-2026-rocks\n")
	mustFail(t, 1, []string{"does not allow"}, "users", "add", "--upn", "bob@"+testDomain, "--display-name", "Bob",
		"--password-file", pwFile, "--data", data)
	runJSON(t, &terms, "users", "banned-terms", "remove", "contoso", "--data", data, "-o", "json")
	if strings.Join(terms.BannedPasswordTerms, ",") != "Winter" {
		t.Fatalf("after remove: %v", terms.BannedPasswordTerms)
	}
	if _, stderr, err := runRoot(t, nil, "users", "add", "--upn", "bob@"+testDomain, "--display-name", "Bob",
		"--password-file", pwFile, "--data", data); err != nil {
		t.Fatalf("password allowed after removing the term: %v %s", err, stderr)
	}
	mustFail(t, 1, []string{"4 to 16 characters"}, "users", "banned-terms", "add", "abc", "--data", data)
}
