package oidc

import "testing"

// TestCookieNamesAndOrigins: on https every cookie is a __Host- cookie
// (no sibling subdomain can plant one) and Secure; on plain http (local
// development) the browser would refuse the prefix, so it is left off.
// A native app's private-use scheme is a CSP source by its scheme.
func TestCookieNamesAndOrigins(t *testing.T) {
	secure := &Provider{publicURL: "https://login.contoso.com"}
	if c := secure.cookie(sessionCookie, "v", 0); c.Name != "__Host-pc_session" || !c.Secure || c.Path != "/" || !c.HttpOnly {
		t.Fatalf("https session cookie: %+v", c)
	}
	plain := &Provider{publicURL: "http://127.0.0.1:8080"}
	if c := plain.cookie(csrfCookie, "v", 0); c.Name != "pc_csrf" || c.Secure {
		t.Fatalf("http CSRF cookie: %+v", c)
	}
	for uri, want := range map[string]string{
		"https://app.contoso.com/cb?x=1":  "https://app.contoso.com",
		"http://127.0.0.1:49152/cb":       "http://127.0.0.1:49152",
		"com.contoso.app:/oauth2redirect": "com.contoso.app:",
		"not a uri":                       "'none'",
	} {
		if got := originOf(uri); got != want {
			t.Errorf("originOf(%q) = %q, want %q", uri, got, want)
		}
	}
}
