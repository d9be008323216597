package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// NamedLocation is a Conditional Access named location in Entra's shape: an
// IP-range location (ipNamedLocation) or a country location
// (countryNamedLocation). Exactly one of CIDRs or Countries is set.
type NamedLocation struct {
	ID   string
	Name string
	// CIDRs makes this an IP-range location.
	CIDRs []netip.Prefix
	// Countries makes this a country location: ISO 3166-1 alpha-2 codes,
	// upper-case (lower-case input is tolerated and normalised by Matcher).
	Countries []string
	// IncludeUnknownCountries makes a country location also match addresses
	// that cannot be mapped to a country (private ranges, addresses missing
	// from the database, or no database at all), as Entra's
	// includeUnknownCountriesAndRegions does.
	IncludeUnknownCountries bool
	// Trusted mirrors Entra's isTrusted, which only IP-range locations have;
	// it feeds sign-in risk and "trusted locations" policy conditions.
	Trusted bool
}

// Validate reports every problem with the location at once (joined with
// errors.Join) so an administrator can fix a config file in one pass.
func (l NamedLocation) Validate() error {
	var errs []error
	if strings.TrimSpace(l.Name) == "" {
		errs = append(errs, errors.New("name is required"))
	}
	hasCIDRs, hasCountries := len(l.CIDRs) > 0, len(l.Countries) > 0
	switch {
	case hasCIDRs && hasCountries:
		errs = append(errs, errors.New("must have either IP ranges or countries, not both"))
	case !hasCIDRs && !hasCountries:
		errs = append(errs, errors.New("must have IP ranges or countries"))
	}
	for i, p := range l.CIDRs {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("IP range %d is invalid", i))
		}
	}
	for _, c := range l.Countries {
		if !isCountryCode(c) {
			errs = append(errs, fmt.Errorf("country %q is not a two-letter ISO 3166-1 code", c))
		}
	}
	// Entra only offers these flags on one kind of location; accepting them
	// on the other would suggest a behaviour Entra does not have.
	if l.Trusted && hasCountries {
		errs = append(errs, errors.New("only IP-range locations can be trusted"))
	}
	if l.IncludeUnknownCountries && hasCIDRs {
		errs = append(errs, errors.New("includeUnknownCountries only applies to country locations"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("named location %s: %w", l.label(), errors.Join(errs...))
}

func (l NamedLocation) label() string {
	switch {
	case l.Name != "" && l.ID != "":
		return fmt.Sprintf("%q (%s)", l.Name, l.ID)
	case l.Name != "":
		return fmt.Sprintf("%q", l.Name)
	case l.ID != "":
		return l.ID
	}
	return "(unnamed)"
}

func isCountryCode(c string) bool {
	if len(c) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		b := c[i] | 0x20 // ASCII lower-case fold; non-letters stay out of range
		if b < 'a' || b > 'z' {
			return false
		}
	}
	return true
}

// MatchResult is the outcome of matching one address.
type MatchResult struct {
	// Locations is every named location containing the address, in the
	// order they were given to NewMatcher. Their slices are shared with the
	// Matcher and must not be modified.
	Locations []NamedLocation
	// Trusted is true when any matched location is trusted.
	Trusted bool
	// Location is the GeoIP result, valid when Found.
	Location Location
	// Found reports whether the GeoIP lookup succeeded.
	Found bool
}

// Matcher matches addresses against a fixed set of named locations. It is
// immutable after construction and therefore safe for concurrent use.
type Matcher struct {
	locs []NamedLocation
	geo  Locator
}

// NewMatcher builds a Matcher over locs using db (which may be nil) for
// country lookups. Locations are copied, with prefixes masked and country
// codes upper-cased, so later changes by the caller have no effect. Invalid
// locations are not rejected here; call Validate when loading configuration.
func NewMatcher(locs []NamedLocation, db *DB) *Matcher {
	return NewMatcherFrom(locs, db)
}

// NewMatcherFrom is NewMatcher with any Locator, typically a *Reloader so
// that country matching follows database reloads.
func NewMatcherFrom(locs []NamedLocation, geo Locator) *Matcher {
	m := &Matcher{geo: geo, locs: make([]NamedLocation, len(locs))}
	for i, l := range locs {
		l.CIDRs = normalizePrefixes(l.CIDRs)
		l.Countries = slices.Clone(l.Countries)
		for j, c := range l.Countries {
			l.Countries[j] = strings.ToUpper(c)
		}
		m.locs[i] = l
	}
	return m
}

// normalizePrefixes masks prefixes and turns IPv4-mapped IPv6 prefixes into
// IPv4 ones, because netip.Prefix.Contains never matches across families and
// Match compares against the unmapped client address.
func normalizePrefixes(in []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if !p.IsValid() {
			continue
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// Match returns the named locations containing ip together with its GeoIP
// location. The GeoIP lookup is always performed so the caller can log the
// location even when no country location is configured.
func (m *Matcher) Match(ip netip.Addr) MatchResult {
	var res MatchResult
	if m == nil {
		return res
	}
	if m.geo != nil {
		res.Location, res.Found = m.geo.Lookup(ip)
	}
	ip = ip.Unmap().WithZone("")
	for _, l := range m.locs {
		if !l.contains(ip, res.Location, res.Found) {
			continue
		}
		res.Locations = append(res.Locations, l)
		res.Trusted = res.Trusted || l.Trusted
	}
	return res
}

func (l *NamedLocation) contains(ip netip.Addr, loc Location, found bool) bool {
	// A location is a country location only if it lists countries, so a
	// malformed one with neither kind matches nothing rather than everything
	// unknown.
	if len(l.Countries) == 0 {
		return slices.ContainsFunc(l.CIDRs, func(p netip.Prefix) bool { return p.Contains(ip) })
	}
	if !found || loc.CountryOrRegion == "" {
		return l.IncludeUnknownCountries
	}
	return slices.Contains(l.Countries, strings.ToUpper(loc.CountryOrRegion))
}
