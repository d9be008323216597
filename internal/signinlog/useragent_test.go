package signinlog

import (
	"strings"
	"testing"
)

func TestParseUserAgent(t *testing.T) {
	tests := []struct{ ua, browser, os string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Safari/537.36", "Chrome 120.0.6099.71", "Windows10"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61", "Edge 120.0.2210.61", "Windows10"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "Safari 17.1", "MacOs"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121.0", "Linux"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1", "Chrome 119.0.6045.169", "Ios"},
		{"curl/8.5.0", "curl 8.5.0", ""},
		{"Go-http-client/1.1", "Go-http-client 1.1", ""},
		{"", "", ""},
		{strings.Repeat("A", 100000), "", ""},
	}
	for _, tt := range tests {
		got := ParseUserAgent(tt.ua)
		if got.Browser != tt.browser || got.OperatingSystem != tt.os {
			t.Errorf("ParseUserAgent(%.40q) = %q/%q, want %q/%q", tt.ua, got.Browser, got.OperatingSystem, tt.browser, tt.os)
		}
	}
}
