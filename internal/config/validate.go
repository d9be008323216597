package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Problem is one invalid setting found by Validate.
type Problem struct {
	Key     string // dotted key path, e.g. "passwords.argon2.memory_kib"
	Message string
}

// ValidationError lists every problem in a configuration, so an operator can
// fix them all in one go instead of one restart per mistake.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems one per line as "key: message".
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Key + ": " + p.Message
	}
	return strings.Join(lines, "\n")
}

// Limits enforced by Validate. The upper bounds are there to catch typos
// (an extra zero) that would otherwise exhaust memory or CPU at first login.
const (
	minArgon2MemoryKiB  = 1024
	maxArgon2MemoryKiB  = 4 * 1024 * 1024 // 4 GiB
	maxArgon2Iterations = 100
	maxArgon2Lanes      = 64
	maxHashConcurrency  = 1024
	maxMinLength        = 256
	maxShortTokenLife   = 24 * time.Hour
	maxSignInBatch      = 10000
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "text"}
)

type problems []Problem

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// Validate checks the configuration and returns nil or a *ValidationError
// listing every problem found.
func (c Config) Validate() error {
	var ps problems
	c.validateServer(&ps)
	c.Passwords.validate(&ps)
	c.Tokens.validate(&ps)
	c.SignInLog.validate(&ps)
	c.SignIn.validate(&ps)
	c.TLS.validate(&ps)
	c.Storage.validate(&ps)
	c.State.validate(&ps)
	c.validateInstances(&ps)
	c.Lockout.validate(&ps)
	c.validateIPProtection(&ps)
	if c.MemoryLimitMiB < 0 || (c.MemoryLimitMiB > 0 && c.MemoryLimitMiB < 64) {
		ps.add("memory_limit_mib", "must be 0 (no limit) or at least 64, got %d", c.MemoryLimitMiB)
	}
	for i, entry := range c.MetricsAllow {
		if _, err := parseProxy(entry); err != nil {
			ps.add("metrics_allow", "entry %d %q: %v", i, entry, err)
		}
	}
	c.Log.validate(&ps)
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

func (c Config) validateServer(ps *problems) {
	if msg := checkListen(c.Listen); msg != "" {
		ps.add("listen", "%s", msg)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		ps.add("data_dir", "must not be empty")
	}
	if c.PublicURL != "" {
		if msg := checkPublicURL(c.PublicURL); msg != "" {
			ps.add("public_url", "%s", msg)
		}
	}
	for i, entry := range c.TrustedProxies {
		if _, err := parseProxy(entry); err != nil {
			ps.add("trusted_proxies", "entry %d %q: %v", i, entry, err)
		}
	}
}

func checkListen(listen string) string {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Sprintf("%q is not a host:port address: %v", listen, err)
	}
	// Numeric only: service names depend on /etc/services and are
	// surprising in a config file.
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("port %q must be a number from 0 to 65535", port)
	}
	return ""
}

func checkPublicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("%q must be an absolute http:// or https:// URL", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Sprintf("%q has no host", raw)
	}
	// The issuer is used as a prefix for endpoint URLs and compared verbatim
	// by OIDC clients, so a query or fragment would corrupt both.
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(raw, "#") {
		return fmt.Sprintf("%q must not contain a query or fragment", raw)
	}
	return ""
}

func (p Passwords) validate(ps *problems) {
	a := p.Argon2
	switch {
	case a.MemoryKiB < minArgon2MemoryKiB:
		ps.add("passwords.argon2.memory_kib", "must be at least %d, got %d", minArgon2MemoryKiB, a.MemoryKiB)
	case a.MemoryKiB > maxArgon2MemoryKiB:
		ps.add("passwords.argon2.memory_kib", "must be at most %d (4 GiB), got %d", maxArgon2MemoryKiB, a.MemoryKiB)
	case uint64(a.MemoryKiB) < 8*uint64(a.Parallelism):
		// Argon2 requires at least 8 KiB per lane.
		ps.add("passwords.argon2.memory_kib", "must be at least 8 * parallelism (%d), got %d", 8*uint64(a.Parallelism), a.MemoryKiB)
	}
	if a.Iterations < 1 || a.Iterations > maxArgon2Iterations {
		ps.add("passwords.argon2.iterations", "must be from 1 to %d, got %d", maxArgon2Iterations, a.Iterations)
	}
	if a.Parallelism < 1 || a.Parallelism > maxArgon2Lanes {
		ps.add("passwords.argon2.parallelism", "must be from 1 to %d, got %d", maxArgon2Lanes, a.Parallelism)
	}
	if p.HashConcurrency < 0 || p.HashConcurrency > maxHashConcurrency {
		ps.add("passwords.hash_concurrency", "must be from 0 (one per CPU) to %d, got %d", maxHashConcurrency, p.HashConcurrency)
	}
	if p.HashQueueFamiliar < 0 {
		ps.add("passwords.hash_queue_familiar", "must not be negative, got %d", p.HashQueueFamiliar)
	}
	if p.HashQueuePerSource < 0 {
		ps.add("passwords.hash_queue_per_source", "must not be negative, got %d", p.HashQueuePerSource)
	}
	if p.HashQueue < 0 {
		ps.add("passwords.hash_queue", "must not be negative, got %d", p.HashQueue)
	}
	if p.HashQueueTimeout <= 0 {
		ps.add("passwords.hash_queue_timeout", "must be positive, got %s", p.HashQueueTimeout)
	}
	if p.MinLength < 1 || p.MinLength > maxMinLength {
		ps.add("passwords.min_length", "must be from 1 to %d, got %d", maxMinLength, p.MinLength)
	}
}

func (t Tokens) validate(ps *problems) {
	short := []struct {
		key string
		d   time.Duration
	}{
		{"tokens.access_token_lifetime", t.AccessTokenLifetime},
		{"tokens.id_token_lifetime", t.IDTokenLifetime},
	}
	// Access and ID tokens cannot be revoked once issued, so their lifetime
	// is capped; long sessions are what refresh tokens are for.
	for _, s := range short {
		if s.d <= 0 {
			ps.add(s.key, "must be positive, got %s", s.d)
		} else if s.d > maxShortTokenLife {
			ps.add(s.key, "must be at most %s, got %s", maxShortTokenLife, s.d)
		}
	}
	switch {
	case t.RefreshTokenLifetime <= 0:
		ps.add("tokens.refresh_token_lifetime", "must be positive, got %s", t.RefreshTokenLifetime)
	case t.RefreshTokenLifetime < t.AccessTokenLifetime:
		ps.add("tokens.refresh_token_lifetime", "must be at least access_token_lifetime (%s), got %s",
			t.AccessTokenLifetime, t.RefreshTokenLifetime)
	}
}

func (s SignInLog) validate(ps *problems) {
	if s.BatchSize < 1 || s.BatchSize > maxSignInBatch {
		ps.add("signin_log.batch_size", "must be from 1 to %d, got %d", maxSignInBatch, s.BatchSize)
	}
	if s.QueueSize < s.BatchSize {
		ps.add("signin_log.queue_size", "must be at least batch_size (%d), got %d", s.BatchSize, s.QueueSize)
	}
	if s.RetentionDays < 1 || s.RetentionDays > 3650 {
		ps.add("signin_log.retention_days", "must be from 1 to 3650, got %d", s.RetentionDays)
	}
	if s.AuditRetentionDays < 1 || s.AuditRetentionDays > 3650 {
		ps.add("signin_log.audit_retention_days", "must be from 1 to 3650, got %d", s.AuditRetentionDays)
	}
	if s.UserRetentionDays < 0 || s.UserRetentionDays > s.RetentionDays {
		ps.add("signin_log.user_retention_days", "must be from 0 (= retention_days) to retention_days (%d): records "+
			"older than that are already deleted, got %d", s.RetentionDays, s.UserRetentionDays)
	}
	if s.StreamFileMaxMiB < 1 || s.StreamFileMaxMiB > 100000 {
		ps.add("signin_log.stream_file_max_mib", "must be from 1 to 100000, got %d", s.StreamFileMaxMiB)
	}
	if s.StreamFileKeep < 1 || s.StreamFileKeep > 100 {
		ps.add("signin_log.stream_file_keep", "must be from 1 to 100, got %d", s.StreamFileKeep)
	}
	if s.WebhookURL != "" {
		if u, err := url.Parse(s.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps.add("signin_log.webhook_url", "must be an http:// or https:// URL, got %q", s.WebhookURL)
		}
	}
}

func (l Log) validate(ps *problems) {
	if !slices.Contains(logLevels, l.Level) {
		ps.add("log.level", "must be one of %s, got %q", strings.Join(logLevels, ", "), l.Level)
	}
	if !slices.Contains(logFormats, l.Format) {
		ps.add("log.format", "must be one of %s, got %q", strings.Join(logFormats, ", "), l.Format)
	}
}

func (s SignIn) validate(ps *problems) {
	between := func(key string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			ps.add(key, "must be from %s to %s, got %s", lo, hi, d)
		}
	}
	between("signin.session_lifetime", s.SessionLifetime, 5*time.Minute, 30*24*time.Hour)
	between("signin.persistent_session_lifetime", s.PersistentSessionLifetime, time.Hour, 365*24*time.Hour)
	between("signin.device_cookie_lifetime", s.DeviceCookieLifetime, 24*time.Hour, 5*365*24*time.Hour)
	if len(s.BrandingName) > 100 {
		ps.add("signin.branding_name", "must be at most 100 characters, got %d", len(s.BrandingName))
	}
	if s.LogoFile != "" {
		switch st, err := os.Stat(s.LogoFile); {
		case err != nil:
			ps.add("signin.logo_file", "cannot be read: %v", err)
		case st.Size() > MaxLogoBytes:
			ps.add("signin.logo_file", "must be at most %d KiB, got %d KiB", MaxLogoBytes>>10, st.Size()>>10)
		}
	}
}

// MaxLogoBytes bounds signin.logo_file: it is held in memory and sent with
// every sign-in page.
const MaxLogoBytes = 512 << 10

func (t TLS) validate(ps *problems) {
	switch {
	case t.SelfSigned && (t.CertFile != "" || t.KeyFile != ""):
		ps.add("tls.self_signed", "cannot be combined with tls.cert_file and tls.key_file: choose one")
		return
	case (t.CertFile == "") != (t.KeyFile == ""):
		ps.add("tls.cert_file", "and tls.key_file must be given together")
		return
	}
	for _, f := range []struct{ key, path string }{{"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			ps.add(f.key, "cannot be read: %v", err)
		}
	}
}

func (s State) validate(ps *problems) {
	switch s.OnUnavailable {
	case "default", "fail_closed", "local":
	default:
		ps.add("state.on_unavailable", "must be default, fail_closed or local, got %q", s.OnUnavailable)
	}
	switch s.Type {
	case "local":
		if s.URL != "" {
			ps.add("state.url", "is only used with state.type redis")
		}
	case "redis":
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			ps.add("state.url", "must be redis://host:port/db or rediss://host:port/db with state.type redis, got %q", redactURL(s.URL))
		}
	default:
		ps.add("state.type", "must be local or redis, got %q", s.Type)
	}
}

func (s Storage) validate(ps *problems) {
	switch s.Type {
	case "sqlite":
		if s.DSN != "" {
			ps.add("storage.dsn", "is only used with storage.type postgres (SQLite lives in data_dir)")
		}
	case "postgres":
		if strings.TrimSpace(s.DSN) == "" {
			ps.add("storage.dsn", "must name the database with storage.type postgres, e.g. postgres://portcullis@db.internal:5432/portcullis?sslmode=verify-full")
		} else if msg := checkPostgresDSN(s.DSN); msg != "" {
			ps.add("storage.dsn", "%s", msg)
		}
	default:
		ps.add("storage.type", "must be sqlite or postgres, got %q", s.Type)
	}
}

// checkPostgresDSN catches the mistakes a parse can see (the connection
// itself is tried at start): a URL with the wrong scheme or no host.
func checkPostgresDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return "" // libpq key=value form: checked when connecting
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "is not a valid URL (a password with special characters must be percent-encoded)"
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Sprintf("must start with postgres:// or postgresql://, got %s://", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Sprintf("%q names no host", u.Redacted())
	}
	return ""
}

// validateInstances explains the storage and state choices that cannot
// keep the guarantees with several instances.
func (c Config) validateInstances(ps *problems) {
	switch {
	case c.Instances < 1:
		ps.add("instances", "must be at least 1, got %d", c.Instances)
	case c.Instances == 1:
	default:
		if c.Storage.Type == "sqlite" {
			ps.add("storage.type", "is sqlite, a file only processes on one machine can share, but instances is %d: "+
				"set storage.type postgres so instances on several machines share users, sessions and the logs", c.Instances)
		}
		if c.State.Type == "local" {
			ps.add("state.type", "is local, so each of the %d instances would count failed passwords and detect attacks "+
				"on its own and an attacker spreading guesses over them would get up to %d times the lockout threshold: "+
				"set state.type redis", c.Instances, c.Instances)
		}
	}
}

// redactURL hides a URL's password in messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
