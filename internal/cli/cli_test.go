package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/app"
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
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // never a developer's stored login
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
	Retired      string `json:"retiredDateTime"`
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
