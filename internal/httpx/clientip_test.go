package httpx

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	r := NewClientIPResolver(trusted)
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "198.51.100.9:5000", nil, "198.51.100.9"},
		{"spoofed header from untrusted peer is ignored", "198.51.100.9:5000", []string{"1.2.3.4"}, "198.51.100.9"},
		{"trusted proxy", "10.1.1.1:443", []string{"203.0.113.5"}, "203.0.113.5"},
		{"client-written left part ignored", "10.1.1.1:443", []string{"6.6.6.6, 203.0.113.5"}, "203.0.113.5"},
		{"chain of trusted proxies", "10.1.1.1:443", []string{"6.6.6.6, 203.0.113.5, 10.2.2.2"}, "203.0.113.5"},
		{"multiple headers in order", "10.1.1.1:443", []string{"6.6.6.6", "203.0.113.5,10.9.9.9"}, "203.0.113.5"},
		{"garbage hop stops the walk", "10.1.1.1:443", []string{"203.0.113.5, bogus"}, "10.1.1.1"},
		{"all trusted", "10.1.1.1:443", []string{"10.3.3.3"}, "10.3.3.3"},
		{"ipv6 peer trusted", "[2001:db8::1]:443", []string{"2001:db8:ffff::1, 2a00::7"}, "2a00::7"},
		{"mapped v4", "[::ffff:10.1.1.1]:443", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", nil)
			req.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := r.Resolve(req); got.String() != tt.want {
				t.Fatalf("Resolve = %s, want %s", got, tt.want)
			}
		})
	}
}
