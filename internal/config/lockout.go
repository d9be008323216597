package config

import (
	"time"
)

// Lockout configures smart lockout: the default policy of every tenant (a
// tenant may override it at run time with `portcullis lockout policy set`),
// trusted locations and the table that makes unknown names lock like real
// ones.
type Lockout struct {
	// Threshold is how many wrong passwords a budget allows before it locks.
	Threshold int `koanf:"threshold" yaml:"threshold"`
	// Duration is the first lock's length; each consecutive lock doubles it.
	Duration time.Duration `koanf:"duration" yaml:"duration"`
	// MaxDuration caps the doubling.
	MaxDuration time.Duration `koanf:"max_duration" yaml:"max_duration"`
	// ObservationWindow: failures older than this no longer count.
	ObservationWindow time.Duration `koanf:"observation_window" yaml:"observation_window"`
	// FamiliarNetworkDays: a network (IPv4 /24, IPv6 /64) stays familiar this
	// long after the user's last successful sign-in from it.
	FamiliarNetworkDays int `koanf:"familiar_network_days" yaml:"familiar_network_days"`
	// DeviceCookieThreshold is each device cookie's own (small) budget.
	DeviceCookieThreshold int `koanf:"device_cookie_threshold" yaml:"device_cookie_threshold"`
	// TrustedLocations are CIDRs whose attempts use their own budget.
	TrustedLocations []string `koanf:"trusted_locations" yaml:"trusted_locations"`
	// UnknownNameSlots sizes the fixed table tracking attempts on names that
	// match no account (memory is fixed: about 100 bytes per slot).
	UnknownNameSlots int `koanf:"unknown_name_slots" yaml:"unknown_name_slots"`
}

// DefaultLockout is Entra's smart lockout default: 10 attempts, 60 s.
func DefaultLockout() Lockout {
	return Lockout{Threshold: 10, Duration: time.Minute, MaxDuration: time.Hour, ObservationWindow: time.Hour,
		FamiliarNetworkDays: 30, DeviceCookieThreshold: 5, UnknownNameSlots: 1 << 17}
}

func (l Lockout) validate(ps *problems) {
	if l.Threshold < 1 || l.Threshold > 1000 {
		ps.add("lockout.threshold", "must be from 1 to 1000, got %d", l.Threshold)
	}
	if l.Duration < time.Second {
		ps.add("lockout.duration", "must be at least 1s, got %s", l.Duration)
	}
	if l.MaxDuration < l.Duration {
		ps.add("lockout.max_duration", "must be at least duration (%s), got %s", l.Duration, l.MaxDuration)
	}
	if l.ObservationWindow < time.Second {
		ps.add("lockout.observation_window", "must be at least 1s, got %s", l.ObservationWindow)
	}
	if l.FamiliarNetworkDays < 0 || l.FamiliarNetworkDays > 365 {
		ps.add("lockout.familiar_network_days", "must be from 0 to 365, got %d", l.FamiliarNetworkDays)
	}
	if l.DeviceCookieThreshold < 1 || l.DeviceCookieThreshold > 1000 {
		ps.add("lockout.device_cookie_threshold", "must be from 1 to 1000, got %d", l.DeviceCookieThreshold)
	}
	for i, entry := range l.TrustedLocations {
		if _, err := parseProxy(entry); err != nil {
			ps.add("lockout.trusted_locations", "entry %d: %v", i, err)
		}
	}
	if l.UnknownNameSlots < 1024 || l.UnknownNameSlots > 1<<24 {
		ps.add("lockout.unknown_name_slots", "must be from 1024 to %d, got %d", 1<<24, l.UnknownNameSlots)
	}
}

// ParsePrefixes converts a list of IPs or CIDRs (as trusted_proxies or
// lockout.trusted_locations) into prefixes.
var ParsePrefixes = ParseTrustedProxies
