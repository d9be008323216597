package geo

import (
	"net/netip"
	"strings"
	"testing"
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		loc  NamedLocation
		want []string // substrings that must all appear; nil means valid
	}{
		{"ip range", NamedLocation{Name: "HQ", CIDRs: prefixes("10.0.0.0/8"), Trusted: true}, nil},
		{"countries", NamedLocation{Name: "EU", Countries: []string{"DE", "fr"}, IncludeUnknownCountries: true}, nil},
		{"no name", NamedLocation{ID: "loc-1", CIDRs: prefixes("10.0.0.0/8")}, []string{"loc-1", "name is required"}},
		{"neither kind", NamedLocation{Name: "Empty"}, []string{"must have IP ranges or countries"}},
		{"both kinds", NamedLocation{Name: "Both", CIDRs: prefixes("10.0.0.0/8"), Countries: []string{"DE"}}, []string{"not both"}},
		{"invalid prefix", NamedLocation{Name: "Bad", CIDRs: []netip.Prefix{{}}}, []string{"IP range 0 is invalid"}},
		{"trusted country", NamedLocation{Name: "T", Countries: []string{"DE"}, Trusted: true}, []string{"only IP-range locations can be trusted"}},
		{"unknown on ip range", NamedLocation{Name: "U", CIDRs: prefixes("10.0.0.0/8"), IncludeUnknownCountries: true}, []string{"only applies to country locations"}},
		{
			"all country problems reported",
			NamedLocation{Countries: []string{"DEU", "1A", "", "Ü", "GB"}},
			[]string{"(unnamed)", "name is required", `"DEU"`, `"1A"`, `""`, `"Ü"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.loc.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, missing %q", err, w)
				}
			}
			if strings.Contains(err.Error(), `"GB"`) {
				t.Errorf("valid code GB reported: %q", err)
			}
		})
	}
}

func names(res MatchResult) []string {
	var out []string
	for _, l := range res.Locations {
		out = append(out, l.Name)
	}
	return out
}

func TestMatcher(t *testing.T) {
	db := openTestDB(t, testRecords)
	locs := []NamedLocation{
		{ID: "1", Name: "Office", CIDRs: prefixes("81.2.69.128/25", "2001:db8:1::/48"), Trusted: true},
		{ID: "2", Name: "UK", Countries: []string{"GB"}},
		{ID: "3", Name: "Blocked", Countries: []string{"us", "KP"}, IncludeUnknownCountries: true},
		{ID: "4", Name: "Mapped", CIDRs: prefixes("::ffff:203.0.113.0/120")},
		{ID: "5", Name: "Germany", Countries: []string{"DE"}},
	}
	m := NewMatcher(locs, db)
	// Mutating the caller's slices must not affect the matcher.
	locs[0].CIDRs[0] = netip.MustParsePrefix("0.0.0.0/32")
	locs[1].Countries[0] = "ZZ"

	tests := []struct {
		ip      string
		want    []string
		trusted bool
		found   bool
		country string
	}{
		{"81.2.69.200", []string{"Office", "UK"}, true, true, "GB"},
		{"::ffff:81.2.69.200", []string{"Office", "UK"}, true, true, "GB"},
		{"81.2.69.1", []string{"UK"}, false, true, "GB"},
		{"203.0.113.9", []string{"Blocked", "Mapped"}, false, true, "US"},
		{"2001:db8:1::5", []string{"Office", "Germany"}, true, true, "DE"},
		{"2001:db8:2::5", []string{"Germany"}, false, true, "DE"},
		{"192.0.2.1", []string{"Blocked"}, false, false, ""},
		{"10.1.2.3", []string{"Blocked"}, false, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			res := m.Match(netip.MustParseAddr(tc.ip))
			if got := strings.Join(names(res), ","); got != strings.Join(tc.want, ",") {
				t.Errorf("locations = %q, want %q", got, tc.want)
			}
			if res.Trusted != tc.trusted || res.Found != tc.found || res.Location.CountryOrRegion != tc.country {
				t.Errorf("Trusted=%v Found=%v Country=%q, want %v %v %q",
					res.Trusted, res.Found, res.Location.CountryOrRegion, tc.trusted, tc.found, tc.country)
			}
		})
	}
}

func TestMatcherWithoutDB(t *testing.T) {
	locs := []NamedLocation{
		{Name: "Office", CIDRs: prefixes("81.2.69.0/24"), Trusted: true},
		{Name: "UK", Countries: []string{"GB"}},
		{Name: "Unknown", Countries: []string{"GB"}, IncludeUnknownCountries: true},
	}
	// Without a database every address has an unknown country, so only
	// IP ranges and IncludeUnknownCountries locations can match.
	res := NewMatcher(locs, nil).Match(netip.MustParseAddr("81.2.69.1"))
	if got := strings.Join(names(res), ","); got != "Office,Unknown" || !res.Trusted || res.Found {
		t.Errorf("got %q trusted=%v found=%v", got, res.Trusted, res.Found)
	}
	var nilMatcher *Matcher
	if res := nilMatcher.Match(netip.MustParseAddr("81.2.69.1")); len(res.Locations) != 0 {
		t.Errorf("nil matcher matched %v", names(res))
	}
}

func TestMatcherFollowsReloader(t *testing.T) {
	r := NewReloader(nil)
	m := NewMatcherFrom([]NamedLocation{{Name: "UK", Countries: []string{"GB"}}}, r)
	ip := netip.MustParseAddr("81.2.69.1")
	if res := m.Match(ip); len(res.Locations) != 0 {
		t.Fatalf("matched before database loaded: %v", names(res))
	}
	if err := r.Reload(writeTestDB(t, testRecords)); err != nil {
		t.Fatal(err)
	}
	if res := m.Match(ip); len(res.Locations) != 1 || !res.Found {
		t.Fatalf("after reload: %+v", res)
	}
}
