package cli

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/store"
)

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
	if len(keys.Value) != 2 {
		t.Fatalf("keys after init = %+v, want one RS256 and one ES256 key", keys.Value)
	}
	initial := map[string]keyOut{}
	for _, k := range keys.Value {
		if k.Status != "active" || k.PublishUntil != "" {
			t.Errorf("initial key = %+v", k)
		}
		initial[k.Algorithm] = k
	}
	if initial["RS256"].KeyID != in.SigningKeyID || initial["ES256"].KeyID == "" {
		t.Errorf("initial keys = %+v (init reported %s)", keys.Value, in.SigningKeyID)
	}

	start := time.Now()
	var rotated keyList
	runJSON(t, &rotated, "keys", "rotate", "--data", dir, "-o", "json")
	runJSON(t, &keys, "keys", "list", "--data", dir, "-o", "json")
	if !reflect.DeepEqual(rotated, keys) {
		t.Errorf("rotate printed %+v, list %+v", rotated, keys)
	}
	if len(keys.Value) != 4 {
		t.Fatalf("keys after rotate = %+v", keys.Value)
	}
	for _, k := range keys.Value {
		old := initial[k.Algorithm]
		switch {
		case k.KeyID == old.KeyID:
			if k.Status != "retired, published" {
				t.Errorf("old key = %+v", k)
			}
			until, err := time.Parse(time.RFC3339, k.PublishUntil)
			if err != nil {
				t.Fatalf("publishedUntil %q: %v", k.PublishUntil, err)
			}
			// Tokens live an hour by default; the old key must outlive them.
			if minUntil := start.Add(time.Hour); until.Before(minUntil) {
				t.Errorf("publishedUntil %v is before %v", until, minUntil)
			}
		case k.Status != "active" || k.PublishUntil != "":
			t.Errorf("new key = %+v", k)
		}
	}
	stdout, _, err := runRoot(t, nil, "keys", "list", "--data", dir)
	if err != nil || !strings.Contains(stdout, "retired, published") || !strings.Contains(stdout, keys.Value[0].KeyID) {
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

// TestAppSecretsOfflineAndOnline: a confidential app's secrets are added and
// removed offline and through a running server, the app is deleted, and
// every change is audited.
func TestAppSecretsOfflineAndOnline(t *testing.T) {
	dir, in := initDir(t)
	var created struct {
		graphApp
		ClientSecret string `json:"clientSecret"`
	}
	runJSON(t, &created, "apps", "add", "--data", dir, "--name", "Reporting", "--confidential", "-o", "json")
	var added struct{ KeyID, SecretText, EndDateTime string }
	runJSON(t, &added, "apps", "secret", "add", created.AppID, "--data", dir, "--lifetime", "720h", "-o", "json")
	if added.SecretText == "" || added.SecretText == created.ClientSecret {
		t.Fatalf("secret add printed %+v", added)
	}
	if r := execute(t, "apps", "secret", "add", created.AppID, "--data", dir, "--lifetime", "20000h"); r.code == 0 ||
		!strings.Contains(r.stderr, "two years") {
		t.Fatalf("a secret beyond two years: %+v", r)
	}
	if r := execute(t, "apps", "remove", app.CLIClientID, "--data", dir); r.code == 0 || !strings.Contains(r.stderr, "built in") {
		t.Fatalf("removing the CLI app: %+v", r)
	}

	server := startServe(t, dir)
	t.Setenv("PORTCULLIS_DATA_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if _, _, err := runRoot(t, strings.NewReader(adminPassword+"\n"), "login", "--server", server, "--username", "admin@contoso.test"); err != nil {
		t.Fatalf("login: %v", err)
	}
	var online struct{ KeyID, SecretText, EndDateTime string }
	runJSON(t, &online, "apps", "secret", "add", created.AppID, "-o", "json")
	var list struct {
		Value []graphApp `json:"value"`
	}
	runJSON(t, &list, "apps", "list", "-o", "json")
	var hints []string
	for _, a := range list.Value {
		if a.AppID == created.AppID {
			hints = a.SecretHints
		}
	}
	if len(hints) != 3 || !strings.Contains(strings.Join(hints, " "), online.KeyID) {
		t.Fatalf("online list: secrets %v, want 3 including %s", hints, online.KeyID)
	}
	if out, _, err := runRoot(t, nil, "apps", "secret", "remove", created.AppID, added.KeyID); err != nil ||
		!strings.Contains(out, "Removed client secret") {
		t.Fatalf("online secret remove: %v %s", err, out)
	}
	if out, _, err := runRoot(t, nil, "apps", "remove", created.AppID); err != nil || !strings.Contains(out, "Deleted app") {
		t.Fatalf("online remove: %v %s", err, out)
	}
	if r := execute(t, "apps", "remove", created.AppID); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("removing it again: %+v", r)
	}
	got := strings.Join(auditActivities(t, dir, in.TenantID), ",")
	for _, want := range []string{"Add application", "Certificates and secrets management", "Delete application"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log %s lacks %q", got, want)
		}
	}
}
