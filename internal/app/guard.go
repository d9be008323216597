package app

import (
	"context"
	"fmt"
	"time"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/events"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/hashpool"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// LockoutDefaults is the configured default lockout policy.
func LockoutDefaults(cfg config.Config) store.LockoutPolicy {
	l := cfg.Lockout
	return store.LockoutPolicy{Threshold: l.Threshold, Duration: l.Duration, MaxDuration: l.MaxDuration,
		ObservationWindow: l.ObservationWindow, FamiliarNetworkDays: l.FamiliarNetworkDays,
		DeviceCookieThreshold: l.DeviceCookieThreshold}
}

// NewGuard builds the credential gate from config. pool may be nil for
// offline commands (a one-worker pool is made).
func NewGuard(ctx context.Context, cfg config.Config, s guard.Store, pool *hashpool.Pool, bus *events.Bus) (*guard.Guard, error) {
	trusted, err := config.ParsePrefixes(cfg.Lockout.TrustedLocations)
	if err != nil {
		return nil, fmt.Errorf("lockout.trusted_locations: %w", err)
	}
	if pool == nil {
		pool = hashpool.New(1, 1, cfg.Passwords.HashQueueTimeout, nil)
	}
	return guard.New(ctx, guard.Config{Store: s, Pool: pool, Params: HashParams(cfg), DefaultPolicy: LockoutDefaults(cfg),
		TrustedLocations: trusted, UnknownNameSlots: cfg.Lockout.UnknownNameSlots, Events: bus,
		// SQLite serves one process: this one makes every change but offline
		// CLI unlocks, which the cache lets through within a second.
		CacheTTL: time.Second})
}
