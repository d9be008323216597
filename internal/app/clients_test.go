package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-idp/portcullis/internal/app"
)

// TestRealClients drives the server with golang.org/x/oauth2 and
// coreos/go-oidc: discovery, password grant, JWKS, ID token verification and
// the AADSTS error body seen through oauth2.RetrieveError.
func TestRealClients(t *testing.T) {
	ts := startServer(t, nil)
	ctx := context.Background()
	issuer := ts.base + "/" + ts.tenant.ID + "/v2.0"
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := &oauth2.Config{ClientID: app.CLIClientID, Endpoint: provider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams // public client: no Basic auth

	tok, err := conf.PasswordCredentialsToken(ctx, "Alice@Contoso.TEST", alicePassword)
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token response incomplete: %+v", tok)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: app.CLIClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	var claims struct {
		OID, TID, Name, PreferredUsername, Ver string
	}
	var m map[string]any
	if err := idToken.Claims(&m); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	_ = json.Unmarshal([]byte(strings.NewReplacer(`"preferred_username"`, `"PreferredUsername"`).Replace(string(b))), &claims)
	if claims.OID != ts.alice.ID || claims.TID != ts.tenant.ID || claims.Name != "Alice Smith" ||
		claims.PreferredUsername != "alice@contoso.test" || claims.Ver != "2.0" || idToken.Subject == ts.alice.ID {
		t.Fatalf("ID token claims = %s", b)
	}

	// The access token is for Portcullis's own API, which only Portcullis
	// verifies, so it is ES256 (the ID token above is RS256, the only
	// algorithm discovery advertises); it verifies against the same JWKS.
	atVerifier := provider.Verifier(&oidc.Config{ClientID: "00000003-0000-0000-c000-000000000000",
		SupportedSigningAlgs: []string{oidc.ES256}})
	if _, err := atVerifier.Verify(ctx, tok.AccessToken); err != nil {
		t.Fatalf("access token does not verify: %v", err)
	}

	_, err = conf.PasswordCredentialsToken(ctx, "alice@contoso.test", "not the password")
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("wrong password: err = %v, want *oauth2.RetrieveError", err)
	}
	var body map[string]any
	if err := json.Unmarshal(re.Body, &body); err != nil {
		t.Fatalf("error body is not JSON: %s", re.Body)
	}
	if re.ErrorCode != "invalid_grant" || !strings.HasPrefix(body["error_description"].(string), "AADSTS50126: ") ||
		body["error_codes"].([]any)[0].(float64) != 50126 {
		t.Fatalf("error body = %s", re.Body)
	}
}

// TestClientCredentials issues an app-only token and checks its claims.
func TestClientCredentials(t *testing.T) {
	ts := startServer(t, nil)
	form := map[string][]string{"grant_type": {"client_credentials"}, "client_id": {ts.conf.ClientID},
		"client_secret": {ts.secret}, "scope": {"https://graph.microsoft.com/.default"}}
	r := ts.token(form)
	if r.status != 200 || r.body["access_token"] == nil || r.body["refresh_token"] != nil {
		t.Fatalf("client credentials: %d %s", r.status, r.raw)
	}
	claims := decodeJWT(t, r.body["access_token"].(string))
	if claims["idtyp"] != "app" || claims["azp"] != ts.conf.ClientID || claims["aud"] != "00000003-0000-0000-c000-000000000000" {
		t.Fatalf("app token claims = %v", claims)
	}
	// Basic authentication works the same (client_secret_basic).
	delete(form, "client_secret")
	delete(form, "client_id")
	r = ts.tokenBasic(form, ts.conf.ClientID, ts.secret)
	if r.status != 200 {
		t.Fatalf("client_secret_basic: %d %s", r.status, r.raw)
	}
	recs := ts.signIns(storeQueryApp())
	if len(recs) < 2 || recs[0].AppID != ts.conf.ClientID || recs[0].IsInteractive || recs[0].Status.ErrorCode != 0 {
		t.Fatalf("client credentials sign-in record = %+v", recs[0])
	}
}
