package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Feed is one threat feed: a local file or an HTTP(S) URL of IPs/CIDRs.
type Feed struct {
	Name     string        `koanf:"name" yaml:"name"`
	Path     string        `koanf:"path" yaml:"path,omitempty"`
	URL      string        `koanf:"url" yaml:"url,omitempty"`
	Category string        `koanf:"category" yaml:"category"` // malicious, anonymizer, tor
	Action   string        `koanf:"action" yaml:"action"`     // block or report
	Refresh  time.Duration `koanf:"refresh" yaml:"refresh,omitempty"`
}

// Location is a named location (Entra's shape): IP ranges or countries.
type Location struct {
	Name      string   `koanf:"name" yaml:"name"`
	CIDRs     []string `koanf:"cidrs" yaml:"cidrs,omitempty"`
	Countries []string `koanf:"countries" yaml:"countries,omitempty"`
	Trusted   bool     `koanf:"trusted" yaml:"trusted,omitempty"`
}

// GeoIP points at a MaxMind-format city database.
type GeoIP struct {
	Database string `koanf:"database" yaml:"database"`
}

// Detection configures automatic blocking of sources that attack many
// accounts. Counts are per address; a /24 (IPv4) or /64 (IPv6) gets
// PrefixMultiplier times the address thresholds.
type Detection struct {
	// ReportOnly records what the rules would block without blocking.
	ReportOnly bool `koanf:"report_only" yaml:"report_only"`
	// ReportOnlyRules puts single rules in report-only mode (passwordSpray,
	// credentialStuffing, failureVelocity), to try one before enforcing it.
	ReportOnlyRules []string      `koanf:"report_only_rules" yaml:"report_only_rules"`
	Window          time.Duration `koanf:"window" yaml:"window"`
	// SprayAccounts: failures against this many distinct accounts, with at
	// most SprayMaxPerAccount failures on any one of them.
	SprayAccounts      int `koanf:"spray_accounts" yaml:"spray_accounts"`
	SprayMaxPerAccount int `koanf:"spray_max_per_account" yaml:"spray_max_per_account"`
	// StuffingUnknown: attempts on this many names with no account, with a
	// failure ratio of at least StuffingFailureRatio.
	StuffingUnknown      int     `koanf:"stuffing_unknown" yaml:"stuffing_unknown"`
	StuffingFailureRatio float64 `koanf:"stuffing_failure_ratio" yaml:"stuffing_failure_ratio"`
	// VelocityFailures: this many failures of any kind.
	VelocityFailures int           `koanf:"velocity_failures" yaml:"velocity_failures"`
	PrefixMultiplier int           `koanf:"prefix_multiplier" yaml:"prefix_multiplier"`
	BlockDuration    time.Duration `koanf:"block_duration" yaml:"block_duration"`
	MaxBlockDuration time.Duration `koanf:"max_block_duration" yaml:"max_block_duration"`
	TrackedSources   int           `koanf:"tracked_sources" yaml:"tracked_sources"`
}

// DefaultDetection: Auth0 throttles an IP after 100 failures across
// accounts in 24 h; these defaults act faster on the clearer patterns.
func DefaultDetection() Detection {
	return Detection{Window: time.Hour, SprayAccounts: 20, SprayMaxPerAccount: 3, StuffingUnknown: 30,
		StuffingFailureRatio: 0.9, VelocityFailures: 100, PrefixMultiplier: 3, BlockDuration: time.Hour,
		MaxBlockDuration: 24 * time.Hour, TrackedSources: 20_000}
}

func (c Config) validateIPProtection(ps *problems) {
	names := map[string]bool{}
	for i, f := range c.Feeds {
		key := fmt.Sprintf("feeds[%d]", i)
		if f.Name == "" || names[f.Name] {
			ps.add(key+".name", "must be set and unique, got %q", f.Name)
		}
		names[f.Name] = true
		if (f.Path == "") == (f.URL == "") {
			ps.add(key, "set exactly one of path and url")
		}
		if f.URL != "" && !strings.HasPrefix(f.URL, "https://") && !strings.HasPrefix(f.URL, "http://") {
			ps.add(key+".url", "must be an http(s) URL, got %q", f.URL)
		}
		if f.Category != "malicious" && f.Category != "anonymizer" && f.Category != "tor" {
			ps.add(key+".category", "must be malicious, anonymizer or tor, got %q", f.Category)
		}
		if f.Action != "block" && f.Action != "report" {
			ps.add(key+".action", "must be block or report, got %q", f.Action)
		}
		if f.Refresh < 0 || (f.Refresh > 0 && f.Refresh < time.Minute) {
			ps.add(key+".refresh", "must be 0 (load once) or at least 1m, got %s", f.Refresh)
		}
	}
	for i, l := range c.Locations {
		key := fmt.Sprintf("locations[%d]", i)
		if l.Name == "" {
			ps.add(key+".name", "must be set")
		}
		if (len(l.CIDRs) == 0) == (len(l.Countries) == 0) {
			ps.add(key, "set exactly one of cidrs and countries")
		}
		for _, cidr := range l.CIDRs {
			if _, err := parseProxy(cidr); err != nil {
				ps.add(key+".cidrs", "%v", err)
			}
		}
		for _, cc := range l.Countries {
			if len(cc) != 2 || strings.ToUpper(cc) != cc || !isASCIIAlpha(cc) {
				ps.add(key+".countries", "%q is not a two-letter upper-case country code", cc)
			}
		}
	}
	c.Detection.validate(ps)
}

func isASCIIAlpha(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// DetectionRules are the rule names report_only_rules accepts.
var DetectionRules = []string{"passwordSpray", "credentialStuffing", "failureVelocity"}

func (d Detection) validate(ps *problems) {
	for _, r := range d.ReportOnlyRules {
		if !slices.Contains(DetectionRules, r) {
			ps.add("detection.report_only_rules", "unknown rule %q (rules: %s)", r, strings.Join(DetectionRules, ", "))
		}
	}
	if d.Window < time.Minute {
		ps.add("detection.window", "must be at least 1m, got %s", d.Window)
	}
	for key, v := range map[string]int{"spray_accounts": d.SprayAccounts, "spray_max_per_account": d.SprayMaxPerAccount,
		"stuffing_unknown": d.StuffingUnknown, "velocity_failures": d.VelocityFailures, "prefix_multiplier": d.PrefixMultiplier} {
		if v < 1 || v > 1_000_000 {
			ps.add("detection."+key, "must be from 1 to 1000000, got %d", v)
		}
	}
	if d.StuffingFailureRatio <= 0 || d.StuffingFailureRatio > 1 {
		ps.add("detection.stuffing_failure_ratio", "must be in (0, 1], got %v", d.StuffingFailureRatio)
	}
	if d.BlockDuration < time.Minute || d.MaxBlockDuration < d.BlockDuration {
		ps.add("detection.block_duration", "must be at least 1m and at most max_block_duration (%s), got %s", d.MaxBlockDuration, d.BlockDuration)
	}
	if d.TrackedSources < 1000 || d.TrackedSources > 10_000_000 {
		ps.add("detection.tracked_sources", "must be from 1000 to 10000000, got %d", d.TrackedSources)
	}
}

// ParseLocations converts configured locations' CIDRs (already validated).
func ParseLocations(ls []Location) ([][]netip.Prefix, error) {
	out := make([][]netip.Prefix, len(ls))
	for i, l := range ls {
		p, err := ParseTrustedProxies(l.CIDRs)
		if err != nil {
			return nil, fmt.Errorf("locations[%d]: %w", i, err)
		}
		out[i] = p
	}
	return out, nil
}
