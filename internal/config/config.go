package config

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"time"
)

// Config is the complete runtime configuration of a Portcullis server.
type Config struct {
	// Listen is the host:port the HTTP server binds to.
	Listen string `koanf:"listen" yaml:"listen"`
	// DataDir holds the database and key material.
	DataDir string `koanf:"data_dir" yaml:"data_dir"`
	// PublicURL is the externally visible base URL (the OIDC issuer). Empty
	// means it is derived from Listen; see EffectivePublicURL.
	PublicURL string `koanf:"public_url" yaml:"public_url"`
	// TrustedProxies lists the CIDRs or single IPs whose forwarding headers
	// are believed. Empty means none, i.e. the TCP peer is the client.
	TrustedProxies []string  `koanf:"trusted_proxies" yaml:"trusted_proxies"`
	Passwords      Passwords `koanf:"passwords" yaml:"passwords"`
	Tokens         Tokens    `koanf:"tokens" yaml:"tokens"`
	SignInLog      SignInLog `koanf:"signin_log" yaml:"signin_log"`
	SignIn         SignIn    `koanf:"signin" yaml:"signin"`
	TLS            TLS       `koanf:"tls" yaml:"tls"`
	Storage        Storage   `koanf:"storage" yaml:"storage"`
	State          State     `koanf:"state" yaml:"state"`
	// Instances is how many portcullis serve processes share this
	// deployment's storage and state; validate checks that the storage and
	// state choices keep every guarantee at that size.
	Instances int        `koanf:"instances" yaml:"instances"`
	Lockout   Lockout    `koanf:"lockout" yaml:"lockout"`
	Feeds     []Feed     `koanf:"feeds" yaml:"feeds"`
	Locations []Location `koanf:"locations" yaml:"locations"`
	GeoIP     GeoIP      `koanf:"geoip" yaml:"geoip"`
	Detection Detection  `koanf:"detection" yaml:"detection"`
	Log       Log        `koanf:"log" yaml:"log"`
	// MemoryLimitMiB is the Go runtime's soft memory limit (GOMEMLIMIT, when
	// that variable is not set). Every argon2id hash allocates its whole
	// memory cost afresh, so without a limit the heap of a busy server
	// drifts far above what it keeps live; 0 = no limit.
	MemoryLimitMiB int `koanf:"memory_limit_mib" yaml:"memory_limit_mib"`
	// MetricsAllow lists the client addresses (IPs or CIDRs, after
	// trusted_proxies) that may read /metrics; others get 404. The counts
	// there (failures, locks, throttles) are for operators, not attackers.
	MetricsAllow []string `koanf:"metrics_allow" yaml:"metrics_allow"`
}

// Passwords configures password hashing and the password policy.
type Passwords struct {
	Argon2 Argon2 `koanf:"argon2" yaml:"argon2"`
	// HashConcurrency bounds how many hashes run at once; 0 means one per
	// CPU. Argon2id is memory-hard, so this also bounds hashing memory to
	// roughly HashConcurrency * Argon2.MemoryKiB.
	HashConcurrency int `koanf:"hash_concurrency" yaml:"hash_concurrency"`
	// HashQueue is the maximum number of verifications waiting for a worker;
	// beyond it requests are shed instead of piling up.
	HashQueue int `koanf:"hash_queue" yaml:"hash_queue"`
	// HashQueueFamiliar bounds waiting verifications from familiar sources
	// (served first); 0 means the same as HashQueue.
	HashQueueFamiliar int `koanf:"hash_queue_familiar" yaml:"hash_queue_familiar"`
	// HashQueuePerSource bounds waiting unfamiliar verifications from one
	// network (/24, /64); 0 means no bound.
	HashQueuePerSource int `koanf:"hash_queue_per_source" yaml:"hash_queue_per_source"`
	// HashQueueTimeout is how long a verification may wait for a worker.
	HashQueueTimeout time.Duration `koanf:"hash_queue_timeout" yaml:"hash_queue_timeout"`
	// MinLength is the minimum password length in characters.
	MinLength int `koanf:"min_length" yaml:"min_length"`
}

// Argon2 holds the Argon2id cost parameters used for new password hashes.
type Argon2 struct {
	MemoryKiB   uint32 `koanf:"memory_kib" yaml:"memory_kib"`
	Iterations  uint32 `koanf:"iterations" yaml:"iterations"`
	Parallelism uint8  `koanf:"parallelism" yaml:"parallelism"`
}

// Tokens configures the lifetimes of issued tokens.
type Tokens struct {
	AccessTokenLifetime  time.Duration `koanf:"access_token_lifetime" yaml:"access_token_lifetime"`
	IDTokenLifetime      time.Duration `koanf:"id_token_lifetime" yaml:"id_token_lifetime"`
	RefreshTokenLifetime time.Duration `koanf:"refresh_token_lifetime" yaml:"refresh_token_lifetime"`
}

// SignInLog configures the asynchronous, group-committed sign-in log.
type SignInLog struct {
	// BatchSize is the maximum number of records written per commit.
	BatchSize int `koanf:"batch_size" yaml:"batch_size"`
	// QueueSize is the maximum number of records waiting to be written.
	QueueSize int `koanf:"queue_size" yaml:"queue_size"`
	// RetentionDays is how long sign-in records are kept (Entra P1: 30).
	RetentionDays int `koanf:"retention_days" yaml:"retention_days"`
	// AuditRetentionDays is how long directory audit records are kept.
	AuditRetentionDays int `koanf:"audit_retention_days" yaml:"audit_retention_days"`
	// UserRetentionDays is how far back people see their own sign-ins
	// (GET /v1.0/portcullis/me/signIns); at most RetentionDays, and 0
	// means RetentionDays.
	UserRetentionDays int `koanf:"user_retention_days" yaml:"user_retention_days"`
	// StreamFile, when set, receives every committed record as a JSON line,
	// rotated at StreamFileMaxMiB keeping StreamFileKeep old files.
	StreamFile       string `koanf:"stream_file" yaml:"stream_file"`
	StreamFileMaxMiB int    `koanf:"stream_file_max_mib" yaml:"stream_file_max_mib"`
	StreamFileKeep   int    `koanf:"stream_file_keep" yaml:"stream_file_keep"`
	// WebhookURL, when set, receives committed records in batches (a JSON
	// array per POST), retried with backoff; never delays sign-ins.
	WebhookURL string `koanf:"webhook_url" yaml:"webhook_url"`
}

// UserDays is how many days back people see their own sign-ins.
func (s SignInLog) UserDays() int {
	if s.UserRetentionDays == 0 {
		return s.RetentionDays
	}
	return s.UserRetentionDays
}

// SignIn configures browser sign-in: the hosted pages, SSO sessions and
// device cookies.
type SignIn struct {
	// RevealLockout shows Entra's "Your account is temporarily locked"
	// message on the sign-in page when an account or address is locked;
	// off, a lock reads like a wrong password (nothing told to a guesser).
	RevealLockout bool `koanf:"reveal_lockout" yaml:"reveal_lockout"`
	// SessionLifetime bounds a browser session without "stay signed in"
	// (its cookie also ends when the browser closes).
	SessionLifetime time.Duration `koanf:"session_lifetime" yaml:"session_lifetime"`
	// PersistentSessionLifetime is a "stay signed in" session's lifetime.
	PersistentSessionLifetime time.Duration `koanf:"persistent_session_lifetime" yaml:"persistent_session_lifetime"`
	// DeviceCookieLifetime is how long a device cookie marks a browser as
	// the user's own device for smart lockout.
	DeviceCookieLifetime time.Duration `koanf:"device_cookie_lifetime" yaml:"device_cookie_lifetime"`
	// BrandingName is the name on the pages; "" = the tenant's name.
	BrandingName string `koanf:"branding_name" yaml:"branding_name"`
	// LogoFile is an image (PNG, JPEG, SVG, at most 512 KiB) shown on the
	// pages instead of the name; "" = none.
	LogoFile string `koanf:"logo_file" yaml:"logo_file"`
}

// TLS makes serve answer HTTPS itself (instead of behind a proxy that
// terminates TLS).
type TLS struct {
	CertFile string `koanf:"cert_file" yaml:"cert_file"` // PEM certificate chain
	KeyFile  string `koanf:"key_file" yaml:"key_file"`   // PEM private key
	// SelfSigned generates (once, in the data directory) a certificate for
	// localhost, for development: browsers will warn about it.
	SelfSigned bool `koanf:"self_signed" yaml:"self_signed"`
}

// Enabled reports whether serve terminates TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.SelfSigned }

// Storage says where the directory, sessions and logs live. "sqlite" is
// one file in data_dir (one machine); "postgres" is a PostgreSQL database
// several instances share.
type Storage struct {
	Type string `koanf:"type" yaml:"type"` // sqlite or postgres
	// DSN is the PostgreSQL connection string (postgres://user:password@host:5432/db?sslmode=verify-full,
	// or libpq key=value form); set it through PORTCULLIS_STORAGE_DSN to keep the password out of files.
	DSN string `koanf:"dsn" yaml:"dsn"`
}

// State says where the state instances must share lives: lockout budgets
// and their verification slots. "local" keeps it in the database and in
// process memory (one instance); "redis" keeps budgets and slots in Redis
// or Valkey, so instances behind one load balancer enforce one threshold.
type State struct {
	Type string `koanf:"type" yaml:"type"` // local or redis
	URL  string `koanf:"url" yaml:"url"`   // redis://[user:password@]host:6379/0 (rediss:// for TLS)
	// OnUnavailable is what happens while Redis cannot be reached: default
	// (unfamiliar sources refused with a throttling error, familiar ones
	// on a local budget at half the threshold), fail_closed or local.
	OnUnavailable string `koanf:"on_unavailable" yaml:"on_unavailable"`
}

// Log configures the process logger.
type Log struct {
	Level  string `koanf:"level" yaml:"level"`   // debug, info, warn or error
	Format string `koanf:"format" yaml:"format"` // json or text
}

// Defaults returns the built-in configuration. It is safe to modify the
// result; every call returns a fresh value.
func Defaults() Config {
	return Config{
		// Loopback by default so a fresh install is not reachable from the
		// network before the operator has decided to expose it.
		Listen:  "127.0.0.1:8080",
		DataDir: "portcullis-data",
		Passwords: Passwords{
			// OWASP's recommended Argon2id minimum (19 MiB, t=2, p=1).
			Argon2:             Argon2{MemoryKiB: 19456, Iterations: 2, Parallelism: 1},
			HashQueue:          64,
			HashQueuePerSource: 8,
			HashQueueTimeout:   2 * time.Second,
			MinLength:          8,
		},
		Tokens: Tokens{
			AccessTokenLifetime:  time.Hour,
			IDTokenLifetime:      time.Hour,
			RefreshTokenLifetime: 90 * 24 * time.Hour,
		},
		SignInLog: SignInLog{BatchSize: 512, QueueSize: 8192, RetentionDays: 30, AuditRetentionDays: 365,
			StreamFileMaxMiB: 100, StreamFileKeep: 5},
		Storage:      Storage{Type: "sqlite"},
		State:        State{Type: "local", OnUnavailable: "default"},
		Instances:    1,
		MetricsAllow: []string{"127.0.0.0/8", "::1"},
		SignIn: SignIn{SessionLifetime: 24 * time.Hour, PersistentSessionLifetime: 90 * 24 * time.Hour,
			DeviceCookieLifetime: 365 * 24 * time.Hour},
		Lockout:   DefaultLockout(),
		Detection: DefaultDetection(),
		Log:       Log{Level: "info", Format: "text"},
		// Live state stays well under 128 MiB (fixed tables, bounded
		// detector); this leaves room for the hash workers' memory.
		MemoryLimitMiB: 384,
	}
}

// HashWorkers returns the number of concurrent password hash workers:
// Passwords.HashConcurrency, or the number of CPUs when it is 0 (or invalid),
// since hashing is CPU-bound and more workers than CPUs only add memory use.
func (c Config) HashWorkers() int {
	if c.Passwords.HashConcurrency > 0 {
		return c.Passwords.HashConcurrency
	}
	return runtime.NumCPU()
}

// EffectivePublicURL returns the externally visible base URL without a
// trailing slash, so callers can append paths like "/authorize" directly.
// When PublicURL is empty it is "http://" + Listen, except that an empty or
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") is replaced by
// "localhost": such a URL would be unusable as an issuer or redirect target.
func (c Config) EffectivePublicURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "http://"
	if c.TLS.Enabled() {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return scheme + c.Listen
	}
	if host == "" {
		host = "localhost"
	} else if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + net.JoinHostPort(host, port)
}

// ParseTrustedProxies converts trusted_proxies entries into prefixes. A
// single address becomes a /32 (IPv4) or /128 (IPv6) prefix. CIDRs are
// masked, so "10.1.2.3/8" means 10.0.0.0/8. The error names the first bad
// entry.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, entry := range list {
		p, err := parseProxy(entry)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", entry, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseProxy(entry string) (netip.Prefix, error) {
	s := strings.TrimSpace(entry)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a valid CIDR prefix: %w", err)
		}
		return p.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not a valid IP address or CIDR prefix: %w", err)
	}
	// A zone only has meaning on one host's link; peer addresses seen by the
	// server carry no zone, so a zoned entry would silently never match.
	if addr.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("IPv6 zones are not supported")
	}
	// Peers arrive as plain IPv4 even on dual-stack sockets, so an
	// IPv4-mapped entry is normalised to match them.
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}
