package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
)

// TestMSAL signs in with Microsoft's own client library (MSAL for Go),
// which insists on an https authority, user-realm discovery that answers
// Managed, and client_info in the token response. A TLS front on loopback
// plays the reverse proxy; public_url is its address, as in production.
func TestMSAL(t *testing.T) {
	var target *url.URL
	front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer front.Close()
	ts := startServer(t, func(c *config.Config) { c.PublicURL = front.URL })
	target, _ = url.Parse("http://" + ts.srv.Addr())

	client, err := public.New(app.CLIClientID,
		public.WithAuthority(front.URL+"/"+ts.tenant.ID),
		public.WithHTTPClient(front.Client()),
		public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatalf("MSAL client: %v", err)
	}
	ctx := context.Background()
	//lint:ignore SA1019 the password grant (ROPC) is exactly what this test proves compatible
	res, err := client.AcquireTokenByUsernamePassword(ctx, []string{"User.Read"}, "alice@contoso.test", alicePassword)
	if err != nil {
		t.Fatalf("MSAL password sign-in: %v", err)
	}
	if res.AccessToken == "" || res.IDToken.Oid != ts.alice.ID || res.Account.PreferredUsername != "alice@contoso.test" ||
		res.Account.Realm != ts.tenant.ID {
		t.Fatalf("MSAL result: oid %q, account %+v", res.IDToken.Oid, res.Account)
	}
	if aud := decodeJWT(t, res.AccessToken)["aud"]; aud != "00000003-0000-0000-c000-000000000000" {
		t.Fatalf("User.Read token audience %v", aud)
	}
	// A wrong password surfaces the AADSTS code through MSAL's error.
	//lint:ignore SA1019 as above
	_, err = client.AcquireTokenByUsernamePassword(ctx, []string{"User.Read"}, "alice@contoso.test", "wrong")
	if err == nil || !containsAll(err.Error(), "AADSTS50126", "invalid_grant") {
		t.Fatalf("MSAL wrong password error = %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
