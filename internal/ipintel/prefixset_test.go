package ipintel

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

func TestPrefixSetLookupAllCovering(t *testing.T) {
	s := NewPrefixSet([]Entry[string]{
		{netip.MustParsePrefix("10.0.0.0/8"), "wide"},
		{netip.MustParsePrefix("10.1.2.3/24"), "narrow"}, // host bits masked
		{netip.MustParsePrefix("10.1.0.0/16"), "mid"},
		{netip.MustParsePrefix("10.1.2.0/24"), "narrow-dup"},
		{netip.MustParsePrefix("::ffff:10.1.2.4/128"), "mapped-host"},
		{netip.MustParsePrefix("2001:db8::/32"), "v6"},
		{netip.Prefix{}, "invalid is skipped"},
	})
	if got := s.Len(); got != 5 {
		t.Errorf("Len = %d, want 5", got)
	}
	tests := []struct {
		ip   string
		want []string
	}{
		{"10.1.2.4", []string{"mapped-host", "narrow", "narrow-dup", "mid", "wide"}},
		{"::ffff:10.1.2.4", []string{"mapped-host", "narrow", "narrow-dup", "mid", "wide"}},
		{"10.1.2.5", []string{"narrow", "narrow-dup", "mid", "wide"}},
		{"10.2.0.1", []string{"wide"}},
		{"11.0.0.1", nil},
		{"2001:db8::1", []string{"v6"}},
		{"2001:db9::1", nil},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := s.Lookup(ip); !slices.Equal(got, tt.want) {
			t.Errorf("Lookup(%s) = %q, want %q", tt.ip, got, tt.want)
		}
		// AppendLookup keeps what dst held and appends the same matches.
		if got := s.AppendLookup([]string{"keep"}, ip); !slices.Equal(got, append([]string{"keep"}, tt.want...)) {
			t.Errorf("AppendLookup(%s) = %q", tt.ip, got)
		}
		if got := s.Contains(ip); got != (tt.want != nil) {
			t.Errorf("Contains(%s) = %v", tt.ip, got)
		}
	}
}

func TestPrefixSetNilAndInvalid(t *testing.T) {
	var s *PrefixSet[int]
	ip := netip.MustParseAddr("1.2.3.4")
	if s.Len() != 0 || s.Contains(ip) || s.Lookup(ip) != nil {
		t.Error("nil set is not empty")
	}
	full := NewPrefixSet([]Entry[int]{{netip.MustParsePrefix("0.0.0.0/0"), 1}})
	if full.Contains(netip.Addr{}) || full.Lookup(netip.Addr{}) != nil {
		t.Error("invalid address matched")
	}
	if !full.Contains(ip) {
		t.Error("0.0.0.0/0 does not contain 1.2.3.4")
	}
}

func TestPrefixSetContainsNoAlloc(t *testing.T) {
	s := NewPrefixSet([]Entry[int]{{netip.MustParsePrefix("192.0.2.0/24"), 1}})
	hit, miss := netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("198.51.100.1")
	allocs := testing.AllocsPerRun(100, func() {
		_ = s.Contains(hit)
		_ = s.Contains(miss)
		_ = s.Lookup(miss)
	})
	if allocs != 0 {
		t.Errorf("allocs = %v, want 0", allocs)
	}
}

// TestPrefixSetMatchesBruteForce checks Lookup against a linear scan on
// random nested and duplicated prefixes of both families.
func TestPrefixSetMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 42))
	var entries []Entry[int]
	for i := range 3000 {
		var p netip.Prefix
		if r.IntN(2) == 0 {
			a := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(256))})
			p = netip.PrefixFrom(a, 8+r.IntN(25))
		} else {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(r.IntN(4)), 15: byte(r.IntN(4))})
			p = netip.PrefixFrom(a, 32+r.IntN(97))
		}
		if r.IntN(10) == 0 && i > 0 {
			p = entries[r.IntN(len(entries))].Prefix // exact duplicate
		}
		entries = append(entries, Entry[int]{p, i})
	}
	// Short IPv4 and IPv6 prefixes (down to /0 and /8) and prefixes around
	// the IPv6 /32 hash granularity, plus host routes.
	for i, p := range []string{"0.0.0.0/0", "10.0.0.0/7", "::/0", "2001:d00::/24", "2001:db8::/31", "2001:db8::/32", "2001:db8:2::/128"} {
		entries = append(entries, Entry[int]{netip.MustParsePrefix(p), 3000 + i})
	}
	s := NewPrefixSet(entries)
	for range 4000 {
		e := entries[r.IntN(len(entries))]
		ip := e.Prefix.Masked().Addr()
		switch r.IntN(4) {
		case 0:
			ip = ip.Next()
		case 1:
			ip = ip.Prev()
		case 2:
			ip = lastAddr(e.Prefix.Masked())
			if r.IntN(2) == 0 {
				ip = ip.Next()
			}
		}
		if ip.IsValid() {
			checkBrute(t, s, entries, ip)
		}
	}
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestPrefixSetEdgeCases covers /0, host routes, adjacent and nested
// prefixes at both ends of each family's address space, and IPv6 prefixes
// shorter than, equal to and longer than the /32 hash granularity.
func TestPrefixSetEdgeCases(t *testing.T) {
	var entries []Entry[int]
	for i, p := range []string{
		"0.0.0.0/0", "0.0.0.0/32", "255.255.255.255/32", "255.255.255.0/24",
		"10.0.0.0/31", "10.0.0.2/31", "10.0.0.0/30", "10.0.0.1/32", "10.0.255.255/32", "10.1.0.0/32",
		"::/0", "::/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff::/16",
		"2001:db8::/32", "2001:db9::/32", "2001:db8::/48", "2001:db8:0:1::/64", "2001:db8::1/128",
		"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128", "2000::/3", "2400::/6", "2400::/31",
		"2001:db8::/32",
	} {
		entries = append(entries, Entry[int]{netip.MustParsePrefix(p), i})
	}
	s := NewPrefixSet(entries)
	for _, ip := range []string{
		"0.0.0.0", "0.0.0.1", "255.255.255.255", "255.255.255.254", "255.255.254.255",
		"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.255.255", "10.1.0.0", "10.1.0.1",
		"::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff::1", "fffe::1",
		"2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8:0:1::5", "2001:db8:1::", "2001:db7:ffff::",
		"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::1", "2001:dba::", "2400::1", "2401:0:1::", "2402::",
		"::ffff:10.0.0.1", "fe80::1%eth0",
	} {
		checkBrute(t, s, entries, netip.MustParseAddr(ip))
	}
	v6only := NewPrefixSet(entries[10:])
	v4only := NewPrefixSet(entries[:10])
	for _, ip := range []string{"10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1"} {
		checkBrute(t, v6only, entries[10:], netip.MustParseAddr(ip))
		checkBrute(t, v4only, entries[:10], netip.MustParseAddr(ip))
	}
}

// checkBrute compares Lookup, Contains and Matches with a linear scan.
func checkBrute(t *testing.T, s *PrefixSet[int], entries []Entry[int], ip netip.Addr) {
	t.Helper()
	norm := ip.WithZone("")
	if norm.Is4In6() {
		norm = norm.Unmap()
	}
	var want []Entry[int]
	for _, e := range entries {
		if p, _ := normalizePrefix(e.Prefix); p.Contains(norm) {
			want = append(want, Entry[int]{p, e.Value})
		}
	}
	slices.SortStableFunc(want, func(a, b Entry[int]) int { return b.Prefix.Bits() - a.Prefix.Bits() })
	var wantVals []int
	for _, e := range want {
		wantVals = append(wantVals, e.Value)
	}
	if got := s.Lookup(ip); !slices.Equal(got, wantVals) {
		t.Fatalf("Lookup(%s) = %v, want %v", ip, got, wantVals)
	}
	if got := s.Contains(ip); got != (len(want) > 0) {
		t.Fatalf("Contains(%s) = %v", ip, got)
	}
	var got []Entry[int]
	for p, v := range s.Matches(ip) {
		got = append(got, Entry[int]{p, v})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Matches(%s) = %v, want %v", ip, got, want)
	}
}
