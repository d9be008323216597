package admincenter

import "testing"

// TestSafeReturn: after sign-in the browser goes back only to a page of
// the console; every way out of /admin lands on the start page instead.
func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/signins?user=alice%40contoso.test&errorCode=50053": "/admin/signins?user=alice%40contoso.test&errorCode=50053",
		"/admin":                          "/admin",
		"/admin/":                         "/admin/",
		"/admin/users/abc":                "/admin/users/abc",
		"https://evil.example/admin/":     "/admin/",
		"//evil.example/admin/":           "/admin/",
		"/\\evil.example/admin":           "/admin/",
		"/admin/../common/oauth2/v2.0/x":  "/admin/",
		"/admin/%2e%2e/common/oauth2":     "/admin/",
		"/admin/%2E%2E/%2E%2E/error":      "/admin/",
		"/admin//evil":                    "/admin/",
		"/administrator":                  "/admin/",
		"/error?code=50053":               "/admin/",
		"/admin/users\r\nSet-Cookie: x=1": "/admin/",
		"javascript:alert(1)":             "/admin/",
		"":                                "/admin/",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}
