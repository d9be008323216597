package app_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

func decodeJWT(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (ts *testServer) tokenBasic(form url.Values, user, pass string) response {
	ts.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.tokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	return ts.do(req)
}

func storeQueryApp() store.SignInQuery { return store.SignInQuery{} }

var httpClient = &http.Client{Timeout: 30 * time.Second}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
