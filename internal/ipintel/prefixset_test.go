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
	s := NewPrefixSet(entries)
	for range 2000 {
		e := entries[r.IntN(len(entries))]
		ip := e.Prefix.Addr()
		if r.IntN(2) == 0 {
			ip = ip.Next()
		}
		var want []Entry[int]
		for _, e := range entries {
			if e.Prefix.Masked().Contains(ip) {
				want = append(want, e)
			}
		}
		// Most specific first, input order within one prefix (stable).
		slices.SortStableFunc(want, func(a, b Entry[int]) int { return b.Prefix.Bits() - a.Prefix.Bits() })
		var wantVals []int
		for _, e := range want {
			wantVals = append(wantVals, e.Value)
		}
		if got := s.Lookup(ip); !slices.Equal(got, wantVals) {
			t.Fatalf("Lookup(%s) = %v, want %v", ip, got, wantVals)
		}
	}
}
