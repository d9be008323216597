package app_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/app"
)

var update = flag.Bool("update", false, "rewrite golden files")

type errorCase struct {
	name   string
	status int
	code   int
	req    func(ts *testServer) *http.Request
}

func formRequest(ts *testServer, path string, form url.Values) *http.Request {
	if path == "" {
		path = "/" + ts.tenant.ID + "/oauth2/v2.0/token"
	}
	req, _ := http.NewRequest(http.MethodPost, ts.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func rawRequest(ts *testServer, contentType, body string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, ts.tokenURL(), strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return req
}

func with(form url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<delete>" {
			out.Del(kv[i])
		} else {
			out.Set(kv[i], kv[i+1])
		}
	}
	return out
}

// errorCases triggers every error the token endpoint produces.
func errorCases() []errorCase {
	pw := passwordForm("alice@contoso.test", alicePassword)
	confForm := func(ts *testServer) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {ts.conf.ClientID},
			"client_secret": {ts.secret}, "scope": {"https://graph.microsoft.com/.default"}}
	}
	f := func(mod func(ts *testServer) url.Values) func(ts *testServer) *http.Request {
		return func(ts *testServer) *http.Request { return formRequest(ts, "", mod(ts)) }
	}
	return []errorCase{
		{"wrong_password", 400, 50126, f(func(*testServer) url.Values { return with(pw, "password", "wrong") })},
		{"unknown_user", 400, 50126, f(func(*testServer) url.Values { return with(pw, "username", "nobody@contoso.test") })},
		{"disabled_correct_password", 400, 50057, f(func(*testServer) url.Values { return with(pw, "username", "dave@contoso.test") })},
		{"empty_password", 400, 50056, f(func(*testServer) url.Values { return with(pw, "password", "") })},
		{"missing_grant_type", 400, 900144, f(func(*testServer) url.Values { return with(pw, "grant_type", "<delete>") })},
		{"missing_client_id", 400, 900144, f(func(*testServer) url.Values { return with(pw, "client_id", "<delete>") })},
		{"missing_username", 400, 900144, f(func(*testServer) url.Values { return with(pw, "username", "<delete>") })},
		{"missing_password", 400, 900144, f(func(*testServer) url.Values { return with(pw, "password", "<delete>") })},
		{"unsupported_grant", 400, 70003, f(func(*testServer) url.Values { return with(pw, "grant_type", "urn:custom:grant") })},
		{"unknown_app", 400, 700016, f(func(*testServer) url.Values {
			return with(pw, "client_id", "11111111-1111-4111-8111-111111111111")
		})},
		{"public_client_with_secret", 401, 700025, f(func(*testServer) url.Values { return with(pw, "client_secret", "x") })},
		{"missing_client_secret", 401, 7000218, f(func(ts *testServer) url.Values { return with(confForm(ts), "client_secret", "<delete>") })},
		{"wrong_client_secret", 401, 7000215, f(func(ts *testServer) url.Values { return with(confForm(ts), "client_secret", "nope") })},
		{"grant_not_allowed", 400, 70001, f(func(ts *testServer) url.Values {
			return with(confForm(ts), "client_id", app.CLIClientID, "client_secret", "<delete>")
		})},
		{"client_credentials_scope_not_default", 400, 1002012, f(func(ts *testServer) url.Values { return with(confForm(ts), "scope", "User.Read") })},
		{"client_credentials_missing_scope", 400, 900144, f(func(ts *testServer) url.Values { return with(confForm(ts), "scope", "<delete>") })},
		{"unknown_resource", 400, 500011, f(func(ts *testServer) url.Values {
			return with(confForm(ts), "scope", "api://22222222-2222-4222-8222-222222222222/.default")
		})},
		{"two_resources", 400, 70011, f(func(ts *testServer) url.Values {
			return with(pw, "scope", "openid User.Read api://"+ts.conf.ClientID+"/read")
		})},
		{"client_credentials_at_common", 400, 50059, func(ts *testServer) *http.Request {
			return formRequest(ts, "/common/oauth2/v2.0/token", confForm(ts))
		}},
		{"unknown_tenant", 400, 90002, func(ts *testServer) *http.Request {
			return formRequest(ts, "/fabrikam.test/oauth2/v2.0/token", pw)
		}},
		{"duplicated_parameter", 400, 9000411, func(ts *testServer) *http.Request {
			return rawRequest(ts, "application/x-www-form-urlencoded", pw.Encode()+"&username=eve@contoso.test")
		}},
		{"malformed_body", 400, 90004, func(ts *testServer) *http.Request {
			return rawRequest(ts, "application/x-www-form-urlencoded", "grant_type=password&username=%zz")
		}},
		{"invalid_utf8", 400, 90100, func(ts *testServer) *http.Request {
			return rawRequest(ts, "application/x-www-form-urlencoded", with(pw, "username", "<delete>").Encode()+"&username=%ff%fe")
		}},
		{"wrong_content_type", 400, 900144, func(ts *testServer) *http.Request {
			return rawRequest(ts, "application/json", `{"grant_type":"password"}`)
		}},
		{"password_10kb", 400, 90100, f(func(*testServer) url.Values { return with(pw, "password", strings.Repeat("p", 10<<10)) })},
		{"body_over_1mib", 413, 90004, func(ts *testServer) *http.Request {
			return rawRequest(ts, "application/x-www-form-urlencoded", pw.Encode()+"&pad="+strings.Repeat("a", 1<<20))
		}},
		{"locked_account", 400, 50053, func(ts *testServer) *http.Request {
			ts.addUser("lou@contoso.test", "Lou", alicePassword, true)
			for i := range 10 {
				ts.token(passwordForm("lou@contoso.test", "wrong-"+strings.Repeat("x", i)))
			}
			return formRequest(ts, "", passwordForm("lou@contoso.test", alicePassword))
		}},
		{"get_method", 400, 900561, func(ts *testServer) *http.Request {
			req, _ := http.NewRequest(http.MethodGet, ts.tokenURL(), nil)
			return req
		}},
	}
}

var volatile = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ|http://127\.0\.0\.1:\d+`)

// TestTokenErrorGolden pins the exact error JSON for every code the token
// endpoint produces. Run with -update to rewrite after a deliberate change.
func TestTokenErrorGolden(t *testing.T) {
	ts := startServer(t, nil)
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(tc.req(ts))
			if r.status != tc.status || r.errorCode() != tc.code {
				t.Fatalf("status %d code %d, want %d %d: %s", r.status, r.errorCode(), tc.status, tc.code, r.raw)
			}
			checkErrorShape(t, r)
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, []byte(volatile.ReplaceAllStringFunc(r.raw, placeholder(ts))), "", "  ")
			golden := filepath.Join("testdata", "errors", tc.name+".json")
			if *update {
				_ = os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/app -run Golden -update)", err)
			}
			if pretty.String() != string(want) {
				t.Fatalf("error body changed:\n got %s\nwant %s", pretty.String(), want)
			}
		})
	}
}

func placeholder(ts *testServer) func(string) string {
	return func(s string) string {
		switch {
		case strings.HasPrefix(s, "http://"):
			return "{public_url}"
		case s == ts.tenant.ID:
			return "{tenant_id}"
		case s == ts.conf.ClientID:
			return "{confidential_client_id}"
		case s == app.CLIClientID, strings.HasPrefix(s, "1111"), strings.HasPrefix(s, "2222"):
			return s
		case strings.Contains(s, " "):
			return "{timestamp}"
		}
		return "{guid}"
	}
}

// checkErrorShape asserts Entra's error format independent of the code.
func checkErrorShape(t *testing.T, r response) {
	t.Helper()
	for _, k := range []string{"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"} {
		if _, ok := r.body[k]; !ok {
			t.Fatalf("error body lacks %q: %s", k, r.raw)
		}
	}
	desc := r.body["error_description"].(string)
	want := regexp.MustCompile(`^AADSTS\d+: .+\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`)
	if !want.MatchString(desc) {
		t.Fatalf("error_description %q does not match Entra's layout", desc)
	}
	if r.header.Get("x-ms-request-id") != r.body["trace_id"] || r.header.Get("client-request-id") != r.body["correlation_id"] {
		t.Fatalf("headers x-ms-request-id/client-request-id do not match the body: %v", r.header)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("error response is cacheable")
	}
	if strings.Contains(r.raw, "%!") {
		t.Fatalf("formatting artefact in %s", r.raw)
	}
}
