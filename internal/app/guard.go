package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/events"
	"github.com/portcullis-idp/portcullis/internal/geo"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/ipintel"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// LockoutDefaults is the configured default lockout policy.
func LockoutDefaults(cfg config.Config) store.LockoutPolicy {
	l := cfg.Lockout
	return store.LockoutPolicy{Threshold: l.Threshold, Duration: l.Duration, MaxDuration: l.MaxDuration,
		ObservationWindow: l.ObservationWindow, FamiliarNetworkDays: l.FamiliarNetworkDays,
		DeviceCookieThreshold: l.DeviceCookieThreshold}
}

// DetectionPolicy converts the detection config.
func DetectionPolicy(cfg config.Config) guard.DetectionPolicy {
	d := cfg.Detection
	return guard.DetectionPolicy{ReportOnly: d.ReportOnly, ReportOnlyRules: d.ReportOnlyRules, Window: d.Window, SprayAccounts: d.SprayAccounts,
		SprayMaxPerAccount: d.SprayMaxPerAccount, StuffingUnknown: d.StuffingUnknown,
		StuffingFailureRatio: d.StuffingFailureRatio, VelocityFailures: d.VelocityFailures,
		PrefixMultiplier: d.PrefixMultiplier, BlockDuration: d.BlockDuration, MaxBlockDuration: d.MaxBlockDuration,
		TrackedSources: d.TrackedSources}
}

// IPSources are the threat feeds and GeoIP database a guard reads.
type IPSources struct {
	Feeds *ipintel.Feeds
	Geo   *geo.Reloader
}

// OpenIPSources prepares the configured feeds (not yet loaded) and opens the
// GeoIP database if one is configured.
func OpenIPSources(cfg config.Config, logger *slog.Logger) (IPSources, error) {
	var s IPSources
	var feeds []ipintel.FeedConfig
	for _, f := range cfg.Feeds {
		feeds = append(feeds, ipintel.FeedConfig{Name: f.Name, Path: f.Path, URL: f.URL, Category: f.Category,
			Action: f.Action, Refresh: f.Refresh})
	}
	var err error
	if s.Feeds, err = ipintel.NewFeeds(feeds, &http.Client{Timeout: time.Minute}, logger); err != nil {
		return s, fmt.Errorf("feeds: %w", err)
	}
	s.Geo = geo.NewReloader(nil)
	if cfg.GeoIP.Database != "" {
		if err := s.Geo.Reload(cfg.GeoIP.Database); err != nil {
			return s, fmt.Errorf("geoip.database: %w", err)
		}
	}
	return s, nil
}

// ConfiguredLocations converts the named locations of the config.
func ConfiguredLocations(cfg config.Config) ([]geo.NamedLocation, error) {
	prefixes, err := config.ParseLocations(cfg.Locations)
	if err != nil {
		return nil, err
	}
	out := make([]geo.NamedLocation, len(cfg.Locations))
	for i, l := range cfg.Locations {
		out[i] = geo.NamedLocation{ID: "config:" + l.Name, Name: l.Name, CIDRs: prefixes[i], Countries: l.Countries,
			Trusted: l.Trusted}
	}
	return out, nil
}

// NewGuard builds the credential gate from config. pool may be nil for
// offline commands (a one-worker pool is made); src may be zero (no feeds,
// no GeoIP).
func NewGuard(ctx context.Context, cfg config.Config, s guard.Store, pool *hashpool.Pool, bus *events.Bus, src IPSources) (*guard.Guard, error) {
	return newGuard(ctx, cfg, s, pool, bus, src, nil)
}

func newGuard(ctx context.Context, cfg config.Config, s guard.Store, pool *hashpool.Pool, bus *events.Bus, src IPSources, logger *slog.Logger) (*guard.Guard, error) {
	return newGuardShared(ctx, cfg, guardState{store: s}, pool, bus, src, logger, nil)
}

// newGuardShared is newGuard for a store shared with other instances or not.
func newGuardShared(ctx context.Context, cfg config.Config, state guardState, pool *hashpool.Pool, bus *events.Bus,
	src IPSources, logger *slog.Logger, reg prometheus.Registerer) (*guard.Guard, error) {
	trusted, err := config.ParsePrefixes(cfg.Lockout.TrustedLocations)
	if err != nil {
		return nil, fmt.Errorf("lockout.trusted_locations: %w", err)
	}
	locations, err := ConfiguredLocations(cfg)
	if err != nil {
		return nil, err
	}
	if pool == nil {
		pool = hashpool.New(1, 1, cfg.Passwords.HashQueueTimeout, nil)
	}
	gc := guard.Config{Store: state.store, Pool: pool, Params: HashParams(cfg), DefaultPolicy: LockoutDefaults(cfg),
		TrustedLocations: trusted, UnknownNameSlots: cfg.Lockout.UnknownNameSlots, Events: bus,
		// SQLite serves one process: this one makes every change but offline
		// CLI unlocks, which the cache lets through within a second.
		CacheTTL: time.Second, Locations: locations, Detection: DetectionPolicy(cfg), Logger: logger, Shared: state.shared,
		SharedUnavailable: cfg.State.OnUnavailable, Metrics: reg, DetectionWindows: state.detect}
	if src.Feeds != nil {
		gc.Feeds = src.Feeds
	}
	if src.Geo != nil {
		gc.Geo = src.Geo
	}
	return guard.New(ctx, gc)
}
