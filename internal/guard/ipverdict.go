package guard

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/geo"
	"github.com/portcullis-idp/portcullis/internal/ipintel"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// FeedSource answers threat-feed matches (ipintel.Feeds).
type FeedSource interface {
	Lookup(ip netip.Addr) []ipintel.FeedMatch
}

// IPMatch is one thing that matched a client address.
type IPMatch struct {
	Kind     string `json:"kind"` // feed, block, location
	Name     string `json:"name"` // feed name, block ID or location name
	Category string `json:"category,omitempty"`
	Action   string `json:"action,omitempty"` // block or report
	Prefix   string `json:"prefix,omitempty"`
	Origin   string `json:"origin,omitempty"` // admin or detection (blocks)
	Rule     string `json:"rule,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Trusted  bool   `json:"trusted,omitempty"`
}

// IPVerdict is the decision about a client address, with its evidence.
type IPVerdict struct {
	Blocked bool `json:"blocked"`
	// AutomaticOnly: every blocking match is an automatic detection, which a
	// device cookie of the attempted account may pass (shared NAT).
	AutomaticOnly bool         `json:"automaticOnly,omitempty"`
	Trusted       bool         `json:"trusted"`
	Matches       []IPMatch    `json:"matches"`
	Location      geo.Location `json:"-"`
	LocationFound bool         `json:"-"`
}

// ipState is the immutable snapshot the verdict reads; rebuilt on change
// and swapped atomically, so lookups never wait.
type ipState struct {
	blocks   *ipintel.PrefixSet[store.IPBlock]
	matchers map[string]*geo.Matcher // by tenant; "" = configured locations only
	version  int64
}

type ipProtection struct {
	feeds     FeedSource
	geo       geo.Locator
	configLoc []geo.NamedLocation
	detect    *detector
	state     atomic.Pointer[ipState]
}

// CheckIP decides about a client address for a tenant: trusted locations
// always win; otherwise any blocking feed or active block record blocks.
func (g *Guard) CheckIP(tenantID string, ip netip.Addr) IPVerdict {
	var v IPVerdict
	if !ip.IsValid() {
		return v
	}
	ip = ip.Unmap()
	st := g.ip.state.Load()
	matcher := st.matchers[tenantID]
	if matcher == nil {
		matcher = st.matchers[""]
	}
	if matcher != nil {
		m := matcher.Match(ip)
		v.Location, v.LocationFound = m.Location, m.Found
		for _, l := range m.Locations {
			v.Matches = append(v.Matches, IPMatch{Kind: "location", Name: l.Name, Trusted: l.Trusted})
		}
		v.Trusted = m.Trusted
	} else if g.ip.geo != nil {
		v.Location, v.LocationFound = g.ip.geo.Lookup(ip)
	}
	v.Trusted = v.Trusted || g.isTrusted(ip)
	blocking, automatic := 0, 0
	if g.ip.feeds != nil {
		for _, f := range g.ip.feeds.Lookup(ip) {
			v.Matches = append(v.Matches, IPMatch{Kind: "feed", Name: f.Feed, Category: f.Category, Action: f.Action,
				Prefix: f.Prefix.String()})
			if f.Action == "block" {
				blocking++
			}
		}
	}
	now := g.now()
	for _, b := range st.blocks.Lookup(ip) {
		if !inForce(b, now) {
			continue
		}
		action := "block"
		if b.ReportOnly {
			action = "report"
		} else {
			blocking++
			if b.Origin == "detection" {
				automatic++
			}
		}
		v.Matches = append(v.Matches, IPMatch{Kind: "block", Name: b.ID, Action: action, Prefix: b.Prefix,
			Origin: b.Origin, Rule: b.Rule, Reason: b.Reason})
	}
	v.Blocked = blocking > 0 && !v.Trusted
	v.AutomaticOnly = v.Blocked && automatic == blocking
	return v
}

// inForce: not revoked and not expired. Report-only records stay in force
// (they are reported, never enforced), unlike store.IPBlock.Active.
func inForce(b store.IPBlock, now time.Time) bool {
	return b.RevokedAt.IsZero() && (b.ExpiresAt.IsZero() || now.Before(b.ExpiresAt))
}

// reloadIP rebuilds the snapshot from the store: block records (active and
// report-only, not revoked) and every tenant's named locations.
func (g *Guard) reloadIP(ctx context.Context) error {
	version, err := g.store.IPBlocksVersion(ctx)
	if err != nil {
		return fmt.Errorf("block records version: %w", err)
	}
	all, err := g.store.ListIPBlocks(ctx, false, g.now())
	if err != nil {
		return fmt.Errorf("load block records: %w", err)
	}
	var entries []ipintel.Entry[store.IPBlock]
	now := g.now()
	for _, b := range all {
		p, err := netip.ParsePrefix(b.Prefix)
		if err != nil || !inForce(b, now) {
			continue
		}
		entries = append(entries, ipintel.Entry[store.IPBlock]{Prefix: p, Value: b})
	}
	matchers, err := g.loadMatchers(ctx)
	if err != nil {
		return err
	}
	g.ip.state.Store(&ipState{blocks: ipintel.NewPrefixSet(entries), matchers: matchers, version: version})
	return nil
}

func (g *Guard) loadMatchers(ctx context.Context) (map[string]*geo.Matcher, error) {
	out := map[string]*geo.Matcher{"": geo.NewMatcherFrom(g.ip.configLoc, g.ip.geo)}
	tenants, err := g.tenants(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		stored, err := g.store.ListNamedLocations(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("named locations: %w", err)
		}
		if len(stored) == 0 {
			continue
		}
		locs := append([]geo.NamedLocation(nil), g.ip.configLoc...)
		for _, l := range stored {
			locs = append(locs, ToGeoLocation(l))
		}
		out[t] = geo.NewMatcherFrom(locs, g.ip.geo)
	}
	return out, nil
}

// ToGeoLocation converts a stored named location.
func ToGeoLocation(l store.NamedLocation) geo.NamedLocation {
	gl := geo.NamedLocation{ID: l.ID, Name: l.DisplayName, Countries: l.Countries,
		IncludeUnknownCountries: l.IncludeUnknownCountries, Trusted: l.Trusted}
	for _, c := range l.CIDRs {
		if p, err := netip.ParsePrefix(c); err == nil {
			gl.CIDRs = append(gl.CIDRs, p.Masked())
		} else if a, err := netip.ParseAddr(c); err == nil {
			gl.CIDRs = append(gl.CIDRs, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return gl
}

// ipPollInterval bounds how long a block, unblock or location change made
// by another process (the offline CLI) takes to reach a running server.
const ipPollInterval = 2 * time.Second

// locationsEvery: named locations have no version counter; they are small,
// so they are simply re-read every few polls.
const locationsEvery = 3

// Run keeps the IP snapshot current until ctx ends: block records whenever
// their version changes (a cheap read every poll), named locations every
// few polls. A failed reload keeps the last good snapshot.
func (g *Guard) Run(ctx context.Context) {
	t := time.NewTicker(ipPollInterval)
	defer t.Stop()
	for polls := 1; ; polls++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		version, err := g.store.IPBlocksVersion(ctx)
		if err != nil {
			continue
		}
		if version != g.ip.state.Load().version || polls%locationsEvery == 0 {
			if err := g.reloadIP(ctx); err != nil {
				g.logger.Warn("reloading IP blocks and locations failed; keeping the last good set", "error", err)
			}
		}
	}
}

// recordDetections turns tripped rules into block records. Repeated blocks
// of the same prefix last longer each time (doubling, capped).
func (g *Guard) recordDetections(ctx context.Context, dets []detection) error {
	p := g.ip.detect.p
	history, err := g.store.ListIPBlocks(ctx, false, g.now())
	if err != nil {
		return err
	}
	for _, det := range dets {
		now, previous := g.now(), 0
		for _, b := range history {
			if b.Prefix == det.Prefix.String() && b.Origin == "detection" && now.Sub(b.CreatedAt) < 7*24*time.Hour {
				previous++
			}
		}
		d := p.BlockDuration
		for i := 0; i < previous && d < p.MaxBlockDuration; i++ {
			d *= 2
		}
		b := store.IPBlock{ID: uuid.NewString(), Prefix: det.Prefix.String(), Origin: "detection", Rule: det.Rule,
			Reason: ruleReason(det), Evidence: evidenceJSON(det), CreatedAt: now,
			ReportOnly: p.ReportOnly || slices.Contains(p.ReportOnlyRules, det.Rule),
			CreatedBy:  "portcullis", ExpiresAt: now.Add(min(d, p.MaxBlockDuration))}
		if err := g.store.CreateIPBlock(ctx, b); err != nil {
			return fmt.Errorf("record detection: %w", err)
		}
	}
	return g.reloadIP(ctx)
}

// BlockIP creates an administrator's block record and applies it at once.
func (g *Guard) BlockIP(ctx context.Context, prefix netip.Prefix, reason, by string, expires time.Time) (store.IPBlock, error) {
	b := store.IPBlock{ID: uuid.NewString(), Prefix: prefix.Masked().String(), Origin: "admin", Reason: reason,
		CreatedAt: g.now(), CreatedBy: by, ExpiresAt: expires}
	if err := g.store.CreateIPBlock(ctx, b); err != nil {
		return b, err
	}
	return b, g.reloadIP(ctx)
}

// UnblockIP revokes a block record and applies it at once.
func (g *Guard) UnblockIP(ctx context.Context, id, by, reason string) error {
	if err := g.store.RevokeIPBlock(ctx, id, g.now(), by, reason); err != nil {
		return err
	}
	return g.reloadIP(ctx)
}

// RefreshIP reloads block records and named locations now, after this
// process changed them, instead of at the next poll.
func (g *Guard) RefreshIP(ctx context.Context) error { return g.reloadIP(ctx) }

// Summary is the verdict in words, as admins read it: "blocked",
// "allowed (trusted location)" or "allowed".
func (v IPVerdict) Summary() string {
	switch {
	case v.Blocked:
		return "blocked"
	case v.Trusted:
		return "allowed (trusted location)"
	}
	return "allowed"
}
