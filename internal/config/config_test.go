package config

import (
	"bytes"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// writeFile writes content to a fresh temp file and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portcullis.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testFlags returns a flag set with the standard flags plus one bound to a
// nested key, parsed from args.
func testFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterFlags(fs)
	fs.Uint32("passwords.argon2.memory-kib", 0, "")
	fs.String("config", "", "not a config key; must be ignored")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDefaultsValidateAndLoadEmpty(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults().Validate() = %v", err)
	}
	got, err := Load(LoadOptions{Env: []string{"HOME=/root", "PORTCULLISX=1"}})
	if err != nil {
		t.Fatalf("Load with no sources: %v", err)
	}
	if !reflect.DeepEqual(got, Defaults()) {
		t.Errorf("Load with no sources = %+v, want defaults %+v", got, Defaults())
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "listen: 127.0.0.1:1001\npasswords:\n  argon2:\n    memory_kib: 20001\n")
	env := []string{"PORTCULLIS_LISTEN=127.0.0.1:1002", "PORTCULLIS_PASSWORDS__ARGON2__MEMORY_KIB=20002"}
	flagArgs := []string{"--listen=127.0.0.1:1003", "--passwords.argon2.memory-kib=20003"}
	tests := []struct {
		name       string
		file       string
		env        []string
		args       []string
		wantListen string
		wantMemory uint32
	}{
		{"defaults", "", nil, nil, "127.0.0.1:8080", 19456},
		{"file over defaults", file, nil, nil, "127.0.0.1:1001", 20001},
		{"env over file", file, env, nil, "127.0.0.1:1002", 20002},
		{"flags over env", file, env, flagArgs, "127.0.0.1:1003", 20003},
		{"flags over file", file, nil, flagArgs, "127.0.0.1:1003", 20003},
		{"unchanged flags do not override", file, env, []string{"--data-dir=x"}, "127.0.0.1:1002", 20002},
		{"layers mix per key", file, env[:1], []string{"--passwords.argon2.memory-kib=20003"}, "127.0.0.1:1002", 20003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(LoadOptions{File: tt.file, Env: tt.env, Flags: testFlags(t, tt.args...)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Listen != tt.wantListen {
				t.Errorf("listen = %q, want %q", cfg.Listen, tt.wantListen)
			}
			if cfg.Passwords.Argon2.MemoryKiB != tt.wantMemory {
				t.Errorf("memory_kib = %d, want %d", cfg.Passwords.Argon2.MemoryKiB, tt.wantMemory)
			}
			// Keys set by no layer must keep their defaults.
			if cfg.Passwords.Argon2.Iterations != 2 || cfg.Tokens.RefreshTokenLifetime != 2160*time.Hour {
				t.Errorf("untouched keys lost their defaults: %+v", cfg)
			}
		})
	}
}

func TestFlagsAndEnvValues(t *testing.T) {
	file := writeFile(t, "trusted_proxies: [10.0.0.0/8]\ndata_dir: /from/file\n")
	tests := []struct {
		name        string
		env         []string
		args        []string
		wantProxies []string
		wantDataDir string
	}{
		{"file list", nil, nil, []string{"10.0.0.0/8"}, "/from/file"},
		{"env comma list", []string{"PORTCULLIS_TRUSTED_PROXIES= 192.0.2.1 ,2001:db8::/32,"}, nil,
			[]string{"192.0.2.1", "2001:db8::/32"}, "/from/file"},
		{"empty env clears list", []string{"PORTCULLIS_TRUSTED_PROXIES="}, nil, nil, "/from/file"},
		{"flag slice and data dir", []string{"PORTCULLIS_DATA_DIR=/from/env"},
			[]string{"--trusted-proxies=::1,127.0.0.1", "--data-dir=/from/flag"}, []string{"::1", "127.0.0.1"}, "/from/flag"},
		{"env data dir", []string{"PORTCULLIS_DATA_DIR=/from/env"}, nil, []string{"10.0.0.0/8"}, "/from/env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(LoadOptions{File: file, Env: tt.env, Flags: testFlags(t, tt.args...)})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !slices.Equal(cfg.TrustedProxies, tt.wantProxies) {
				t.Errorf("trusted_proxies = %q, want %q", cfg.TrustedProxies, tt.wantProxies)
			}
			if cfg.DataDir != tt.wantDataDir {
				t.Errorf("data_dir = %q, want %q", cfg.DataDir, tt.wantDataDir)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // YAML content; "" = no file
		env     []string
		wantKey string
		want    []string // substrings of the error
	}{
		{"unknown nested key in file", "passwords:\n  argon2:\n    memroy_kib: 1\n", nil,
			"passwords.argon2.memroy_kib", []string{`unknown key "passwords.argon2.memroy_kib" in config file`}},
		{"unknown top-level key in file", "listen: 127.0.0.1:1\nlisten_addr: x\n", nil,
			"listen_addr", []string{`unknown key "listen_addr" in config file`}},
		{"unknown key in env", "", []string{"PORTCULLIS_PASSWORDS__ARGON2__MEMROY_KIB=1"},
			"passwords.argon2.memroy_kib", []string{`unknown key "passwords.argon2.memroy_kib" in environment variable PORTCULLIS_PASSWORDS__ARGON2__MEMROY_KIB`}},
		{"single underscore does not nest", "", []string{"PORTCULLIS_PASSWORDS_HASH_QUEUE=1"},
			"passwords_hash_queue", []string{`unknown key "passwords_hash_queue"`}},
		{"env section", "", []string{"PORTCULLIS_PASSWORDS=1"},
			"passwords", []string{`key "passwords"`, "section"}},
		{"list for string", "listen: [1, 2]\n", nil,
			"listen", []string{`key "listen" in config file`, "expected a string, got a list"}},
		{"string for int", "passwords:\n  hash_queue: abc\n", nil,
			"passwords.hash_queue", []string{`key "passwords.hash_queue"`, `expected an integer, got string "abc"`}},
		{"bad duration in file", "passwords:\n  hash_queue_timeout: soon\n", nil,
			"passwords.hash_queue_timeout", []string{`key "passwords.hash_queue_timeout"`, "expected a duration"}},
		{"bare number duration", "tokens:\n  id_token_lifetime: 3600\n", nil,
			"tokens.id_token_lifetime", []string{`key "tokens.id_token_lifetime"`, "duration string"}},
		{"bad duration in env", "", []string{"PORTCULLIS_TOKENS__ACCESS_TOKEN_LIFETIME=1 hour"},
			"tokens.access_token_lifetime", []string{"environment variable PORTCULLIS_TOKENS__ACCESS_TOKEN_LIFETIME", "expected a duration"}},
		{"uint8 overflow", "passwords:\n  argon2:\n    parallelism: 300\n", nil,
			"passwords.argon2.parallelism", []string{`key "passwords.argon2.parallelism"`, "out of range"}},
		{"negative uint", "", []string{"PORTCULLIS_PASSWORDS__ARGON2__ITERATIONS=-1"},
			"passwords.argon2.iterations", []string{`key "passwords.argon2.iterations"`}},
		{"scalar for section", "tokens: 1h\n", nil,
			"tokens", []string{`key "tokens"`, "expected a mapping"}},
		{"non-string list entry", "trusted_proxies: [10.0.0.1, [1]]\n", nil,
			"trusted_proxies", []string{"entry 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := LoadOptions{Env: tt.env}
			if tt.file != "" {
				opts.File = writeFile(t, tt.file)
			}
			_, err := Load(opts)
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var ke *KeyError
			if !errors.As(err, &ke) || ke.Key != tt.wantKey {
				t.Errorf("error %v: want *KeyError for key %q, got %+v", err, tt.wantKey, ke)
			}
		})
	}
}

func TestLoadReportsAllKeyErrorsOfAFile(t *testing.T) {
	path := writeFile(t, "bogus: 1\nlisten: 5\nlog:\n  colour: red\n")
	_, err := Load(LoadOptions{File: path})
	if err == nil {
		t.Fatal("Load succeeded, want error")
	}
	for _, key := range []string{`"bogus"`, `"listen"`, `"log.colour"`} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not mention %s", err, key)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(LoadOptions{File: missing})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: got %v, want wrapped fs.ErrNotExist naming the path", err)
	}
	_, err = Load(LoadOptions{File: writeFile(t, "listen: [unclosed\n")})
	if err == nil || !strings.Contains(err.Error(), "reading config file") {
		t.Errorf("malformed YAML: got %v, want a config file error", err)
	}
}

func TestLoadReturnsValidationError(t *testing.T) {
	path := writeFile(t, "passwords:\n  min_length: 0\nlog:\n  level: loud\n")
	cfg, err := Load(LoadOptions{File: path})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load error = %v, want *ValidationError", err)
	}
	if got := problemKeys(ve); !slices.Equal(got, []string{"passwords.min_length", "log.level"}) {
		t.Errorf("problem keys = %q", got)
	}
	if cfg.Log.Level != "loud" {
		t.Errorf("decoded config not returned with validation error: level %q", cfg.Log.Level)
	}
}

func problemKeys(ve *ValidationError) []string {
	keys := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		keys[i] = p.Key
	}
	return keys
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Defaults()
	c.Listen = "localhost"
	c.DataDir = ""
	c.TrustedProxies = []string{"10.0.0.0/8", "not-an-ip"}
	c.Passwords.Argon2.MemoryKiB = 512
	c.Passwords.Argon2.Parallelism = 0
	c.Tokens.AccessTokenLifetime = 48 * time.Hour
	c.SignInLog.QueueSize = 10
	c.Log.Format = "xml"
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	want := []string{
		"listen", "data_dir", "trusted_proxies",
		"passwords.argon2.memory_kib", "passwords.argon2.parallelism",
		"tokens.access_token_lifetime", "signin_log.queue_size", "log.format",
	}
	if got := problemKeys(ve); !slices.Equal(got, want) {
		t.Errorf("problem keys = %q, want %q", got, want)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) || !strings.HasPrefix(lines[2], "trusted_proxies: ") || !strings.Contains(lines[2], "not-an-ip") {
		t.Errorf("Error() = %q, want one \"key: message\" line per problem", err.Error())
	}
}

func TestValidateSingleRules(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantKey string // comma-separated problem keys; "" = valid
	}{
		{"ipv6 listen", func(c *Config) { c.Listen = "[::1]:443" }, ""},
		{"empty host listen", func(c *Config) { c.Listen = ":0" }, ""},
		{"port too large", func(c *Config) { c.Listen = "127.0.0.1:65536" }, "listen"},
		{"named port", func(c *Config) { c.Listen = "127.0.0.1:http" }, "listen"},
		{"good public url", func(c *Config) { c.PublicURL = "https://id.example.com/base/" }, ""},
		{"ftp public url", func(c *Config) { c.PublicURL = "ftp://id.example.com" }, "public_url"},
		{"relative public url", func(c *Config) { c.PublicURL = "/idp" }, "public_url"},
		{"public url query", func(c *Config) { c.PublicURL = "https://x.example?a=1" }, "public_url"},
		{"public url fragment", func(c *Config) { c.PublicURL = "https://x.example/#f" }, "public_url"},
		{"good proxies", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "::1", "192.0.2.1"} }, ""},
		{"memory too large", func(c *Config) { c.Passwords.Argon2.MemoryKiB = 4*1024*1024 + 1 }, "passwords.argon2.memory_kib"},
		{"memory below 8 per lane", func(c *Config) { c.Passwords.Argon2.MemoryKiB, c.Passwords.Argon2.Parallelism = 1500, 200 }, "passwords.argon2.memory_kib,passwords.argon2.parallelism"},
		{"iterations zero", func(c *Config) { c.Passwords.Argon2.Iterations = 0 }, "passwords.argon2.iterations"},
		{"iterations too many", func(c *Config) { c.Passwords.Argon2.Iterations = 101 }, "passwords.argon2.iterations"},
		{"negative concurrency", func(c *Config) { c.Passwords.HashConcurrency = -1 }, "passwords.hash_concurrency"},
		{"concurrency too high", func(c *Config) { c.Passwords.HashConcurrency = 1025 }, "passwords.hash_concurrency"},
		{"negative queue", func(c *Config) { c.Passwords.HashQueue = -1 }, "passwords.hash_queue"},
		{"zero queue ok", func(c *Config) { c.Passwords.HashQueue = 0 }, ""},
		{"zero queue timeout", func(c *Config) { c.Passwords.HashQueueTimeout = 0 }, "passwords.hash_queue_timeout"},
		{"min length too long", func(c *Config) { c.Passwords.MinLength = 257 }, "passwords.min_length"},
		{"zero id token", func(c *Config) { c.Tokens.IDTokenLifetime = 0 }, "tokens.id_token_lifetime"},
		{"refresh below access", func(c *Config) { c.Tokens.RefreshTokenLifetime = 30 * time.Minute }, "tokens.refresh_token_lifetime"},
		{"batch too large", func(c *Config) { c.SignInLog.BatchSize, c.SignInLog.QueueSize = 10001, 20000 }, "signin_log.batch_size"},
		{"zero batch", func(c *Config) { c.SignInLog.BatchSize = 0 }, "signin_log.batch_size"},
		{"users see past retention", func(c *Config) { c.SignInLog.RetentionDays, c.SignInLog.UserRetentionDays = 7, 30 },
			"signin_log.user_retention_days"},
		{"session of a second", func(c *Config) { c.SignIn.SessionLifetime = time.Second }, "signin.session_lifetime"},
		{"missing logo", func(c *Config) { c.SignIn.LogoFile = "/nonexistent/logo.png" }, "signin.logo_file"},
		{"certificate without key", func(c *Config) { c.TLS.CertFile = "/nonexistent/cert.pem" }, "tls.cert_file"},
		{"redis without an address", func(c *Config) { c.State.Type = "redis" }, "state.url"},
		{"unknown state", func(c *Config) { c.State.Type = "etcd" }, "state.type"},
		{"unknown storage", func(c *Config) { c.Storage.Type = "mysql" }, "storage.type"},
		{"postgres without a dsn", func(c *Config) { c.Storage.Type = "postgres" }, "storage.dsn"},
		{"postgres with a mysql url", func(c *Config) { c.Storage.Type, c.Storage.DSN = "postgres", "mysql://db/x" }, "storage.dsn"},
		{"postgres url without a host", func(c *Config) { c.Storage.Type, c.Storage.DSN = "postgres", "postgres:///x" }, "storage.dsn"},
		{"postgres key=value dsn", func(c *Config) { c.Storage.Type, c.Storage.DSN = "postgres", "host=db dbname=portcullis" }, ""},
		{"dsn with sqlite", func(c *Config) { c.Storage.DSN = "postgres://db/x" }, "storage.dsn"},
		{"zero instances", func(c *Config) { c.Instances = 0 }, "instances"},
		{"three instances on sqlite and local state", func(c *Config) { c.Instances = 3 }, "storage.type,state.type"},
		{"three instances on postgres and local state", func(c *Config) {
			c.Instances, c.Storage.Type, c.Storage.DSN = 3, "postgres", "postgres://db/x"
		}, "state.type"},
		{"three instances on postgres and redis", func(c *Config) {
			c.Instances, c.Storage.Type, c.Storage.DSN = 3, "postgres", "postgres://db/x"
			c.State.Type, c.State.URL = "redis", "redis://cache:6379/0"
		}, ""},
		{"self-signed and files", func(c *Config) { c.TLS.SelfSigned, c.TLS.CertFile, c.TLS.KeyFile = true, "a", "b" },
			"tls.self_signed"},
		{"debug level", func(c *Config) { c.Log.Level, c.Log.Format = "debug", "json" }, ""},
		{"upper-case level", func(c *Config) { c.Log.Level = "INFO" }, "log.level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || strings.Join(problemKeys(ve), ",") != tt.wantKey {
				t.Fatalf("Validate() = %v, want problems for exactly %q", err, tt.wantKey)
			}
		})
	}
}

func TestWriteYAMLRoundTrip(t *testing.T) {
	custom := Defaults()
	custom.Listen = "[::1]:9443"
	custom.PublicURL = "https://id.example.com"
	custom.TrustedProxies = []string{"10.0.0.0/8", "2001:db8::1"}
	custom.Passwords.HashConcurrency = 3
	custom.Passwords.HashQueueTimeout = 1500 * time.Millisecond
	custom.Tokens.AccessTokenLifetime = 5 * time.Minute
	custom.Log = Log{Level: "warn", Format: "json"}
	for name, want := range map[string]Config{"defaults": Defaults(), "custom": custom} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteYAML(&buf, want); err != nil {
				t.Fatalf("WriteYAML: %v", err)
			}
			got, err := Load(LoadOptions{File: writeFile(t, buf.String())})
			if err != nil {
				t.Fatalf("Load(WriteYAML output): %v\n%s", err, buf.String())
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip mismatch:\n got %+v\nwant %+v\nYAML:\n%s", got, want, buf.String())
			}
		})
	}
	var buf bytes.Buffer
	if err := WriteYAML(&buf, Defaults()); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"hash_queue_timeout: 2s", "access_token_lifetime: 1h0m0s", "memory_kib: 19456", "trusted_proxies: []", "signin_log:"} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("WriteYAML output lacks %q:\n%s", line, buf.String())
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies([]string{"192.0.2.7", "10.1.2.3/8", "2001:db8::1", " ::ffff:192.0.2.9 ", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8::1/128"), netip.MustParsePrefix("192.0.2.9/32"),
		netip.MustParsePrefix("fd00::/8"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("ParseTrustedProxies = %v, want %v", got, want)
	}
	for _, bad := range []string{"example.com", "10.0.0.0/33", "fe80::1%eth0", ""} {
		_, err := ParseTrustedProxies([]string{"10.0.0.1", bad})
		if err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("ParseTrustedProxies(%q) error = %v, want one naming the entry", bad, err)
		}
	}
}

func TestDerivedValues(t *testing.T) {
	c := Defaults()
	if got := c.HashWorkers(); got != runtime.NumCPU() {
		t.Errorf("HashWorkers with 0 = %d, want NumCPU %d", got, runtime.NumCPU())
	}
	c.Passwords.HashConcurrency = 7
	if got := c.HashWorkers(); got != 7 {
		t.Errorf("HashWorkers = %d, want 7", got)
	}
	urls := []struct{ listen, public, want string }{
		{"127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{"[::1]:8080", "", "http://[::1]:8080"},
		{":8080", "", "http://localhost:8080"},
		{"0.0.0.0:8080", "", "http://localhost:8080"},
		{"127.0.0.1:8080", "https://id.example.com/", "https://id.example.com"},
		{"127.0.0.1:8080", "https://example.com/idp//", "https://example.com/idp"},
	}
	for _, u := range urls {
		c := Config{Listen: u.listen, PublicURL: u.public}
		if got := c.EffectivePublicURL(); got != u.want {
			t.Errorf("EffectivePublicURL(%q, %q) = %q, want %q", u.listen, u.public, got, u.want)
		}
	}
}

func TestSchemaTagsAndEnvNames(t *testing.T) {
	var check func(reflect.Type)
	check = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if k, y := f.Tag.Get("koanf"), f.Tag.Get("yaml"); k == "" || k != y {
				t.Errorf("%s.%s: koanf tag %q and yaml tag %q must be equal and set", rt.Name(), f.Name, k, y)
			}
			if f.Type.Kind() == reflect.Struct {
				check(f.Type)
			}
		}
	}
	check(reflect.TypeFor[Config]())
	if got := len(Keys()); got != 67 {
		t.Errorf("len(Keys()) = %d, want 67 leaf settings", got)
	}
	if got := EnvVar("passwords.argon2.memory_kib"); got != "PORTCULLIS_PASSWORDS__ARGON2__MEMORY_KIB" {
		t.Errorf("EnvVar = %q", got)
	}
	// Every key must be settable through its documented variable name.
	for _, key := range Keys() {
		if _, _, err := envValue(EnvVar(key), ""); err != nil {
			var ke *KeyError
			if errors.As(err, &ke) && ke.Unknown {
				t.Errorf("key %q not reachable via %s", key, EnvVar(key))
			}
		}
	}
}
