package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Apps checks app registrations, secrets and updates.
func Apps(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	tn := seedTenant(t, s, "contoso.test")
	app := store.App{
		ClientID: newID(), TenantID: tn.ID, DisplayName: "Payroll", Public: false,
		Secrets:       []store.ClientSecret{{ID: newID(), Hash: "ab12", Hint: "x9Q", CreatedAt: base, ExpiresAt: base.Add(24 * time.Hour)}},
		RedirectURIs:  []string{"https://payroll.contoso.test/cb", "http://127.0.0.1/cb"},
		AllowedGrants: []string{store.GrantPassword, store.GrantClientCredentials},
		CreatedAt:     base,
	}
	must(t, s.CreateApp(ctx, app), "CreateApp")
	got, err := s.GetApp(ctx, app.ClientID)
	must(t, err, "GetApp")
	if !reflect.DeepEqual(got, app) {
		t.Fatalf("GetApp round trip:\n got %+v\nwant %+v", got, app)
	}
	// Its redirect URIs ask for browser sign-in: the code and refresh
	// grants come with them.
	if !got.Allows(store.GrantPassword) || !got.Allows(store.GrantAuthorizationCode) || !got.Allows(store.GrantRefreshToken) ||
		got.Allows("urn:ietf:params:oauth:grant-type:device_code") {
		t.Fatalf("Allows does not follow AllowedGrants %v and the redirect URIs", got.AllowedGrants)
	}
	wantErr(t, s.CreateApp(ctx, app), store.ErrConflict, "duplicate client ID")
	_, err = s.GetApp(ctx, newID())
	wantErr(t, err, store.ErrNotFound, "unknown app")

	cli := store.App{ClientID: newID(), TenantID: tn.ID, DisplayName: "CLI", Public: true,
		AllowedGrants: []string{store.GrantPassword}, CreatedAt: base}
	must(t, s.CreateApp(ctx, cli), "CreateApp public")
	if cli.Allows(store.GrantAuthorizationCode) || !cli.Allows(store.GrantRefreshToken) {
		t.Fatal("an app without redirect URIs has no browser sign-in; its password grant brings refresh tokens")
	}
	app.Secrets = append(app.Secrets, store.ClientSecret{ID: newID(), Hash: "cd34", Hint: "k2P", CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
	app.RedirectURIs = nil
	app.DisplayName = "Payroll v2"
	must(t, s.UpdateApp(ctx, app), "UpdateApp")
	list, err := s.ListApps(ctx, tn.ID)
	must(t, err, "ListApps")
	if len(list) != 2 || list[0].ClientID != cli.ClientID || !reflect.DeepEqual(list[1], app) {
		t.Fatalf("ListApps = %+v, want [CLI, updated Payroll]", list)
	}
	wantErr(t, s.UpdateApp(ctx, store.App{ClientID: newID(), TenantID: tn.ID}), store.ErrNotFound, "update unknown app")

	// Deleting takes the app's role assignments and refresh tokens with it,
	// and only within its own tenant.
	other := seedTenant(t, s, "fabrikam.test")
	wantErr(t, s.DeleteApp(ctx, other.ID, app.ClientID), store.ErrNotFound, "delete from another tenant")
	must(t, s.CreateRoleAssignment(ctx, store.RoleAssignment{ID: newID(), TenantID: tn.ID, PrincipalID: app.ClientID,
		RoleDefinitionID: "role", DirectoryScopeID: "/", CreatedAt: base}), "CreateRoleAssignment")
	must(t, s.CreateRefreshToken(ctx, store.RefreshToken{ID: newID(), Hash: "rt-" + app.ClientID, FamilyID: "f",
		TenantID: tn.ID, UserID: "u", ClientID: app.ClientID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}), "CreateRefreshToken")
	must(t, s.DeleteApp(ctx, tn.ID, app.ClientID), "DeleteApp")
	wantErr(t, s.DeleteApp(ctx, tn.ID, app.ClientID), store.ErrNotFound, "delete twice")
	if _, err := s.GetApp(ctx, app.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetApp after delete: %v", err)
	}
	if as, err := s.ListRoleAssignments(ctx, tn.ID, app.ClientID); err != nil || len(as) != 0 {
		t.Fatalf("role assignments after delete: %+v, %v", as, err)
	}
	if _, err := s.RefreshTokenByHash(ctx, "rt-"+app.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refresh token after delete: %v", err)
	}
}

// Keys checks signing key storage and atomic rotation.
func Keys(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	first := store.SigningKey{ID: "k1", Algorithm: "RS256", PrivateKey: []byte{1, 2, 3}, CreatedAt: base}
	must(t, s.CreateKey(ctx, first), "CreateKey")
	wantErr(t, s.CreateKey(ctx, first), store.ErrConflict, "duplicate kid")
	second := store.SigningKey{ID: "k2", Algorithm: "RS256", PrivateKey: []byte{4, 5}, CreatedAt: base.Add(time.Minute)}
	until := base.Add(2 * time.Hour)
	must(t, s.RotateKeys(ctx, second, until), "RotateKeys")
	keys, err := s.ListKeys(ctx)
	must(t, err, "ListKeys")
	if len(keys) != 2 || keys[0].ID != "k2" || keys[1].ID != "k1" {
		t.Fatalf("ListKeys = %+v, want k2 then k1", keys)
	}
	if !keys[0].RetiredAt.IsZero() || !keys[1].RetiredAt.Equal(second.CreatedAt) || !keys[1].PublishUntil.Equal(until) {
		t.Fatalf("after rotation: active %+v, retired %+v", keys[0], keys[1])
	}
	if !reflect.DeepEqual(keys[1].PrivateKey, first.PrivateKey) {
		t.Fatalf("private key bytes changed in storage")
	}
	// Each algorithm rotates on its own: rotating ES256 keeps k2 active.
	ec1 := store.SigningKey{ID: "e1", Algorithm: "ES256", PrivateKey: []byte{6}, CreatedAt: base.Add(2 * time.Minute)}
	must(t, s.CreateKey(ctx, ec1), "CreateKey ES256")
	ec2 := store.SigningKey{ID: "e2", Algorithm: "ES256", PrivateKey: []byte{7}, CreatedAt: base.Add(3 * time.Minute)}
	must(t, s.RotateKeys(ctx, ec2, until), "RotateKeys ES256")
	keys, err = s.ListKeys(ctx)
	must(t, err, "ListKeys")
	active := map[string]bool{}
	for _, k := range keys {
		active[k.ID] = k.RetiredAt.IsZero()
	}
	if want := map[string]bool{"k1": false, "k2": true, "e1": false, "e2": true}; !reflect.DeepEqual(active, want) {
		t.Fatalf("active keys after an ES256 rotation = %v, want %v", active, want)
	}
	if !keys[0].RetiredAt.IsZero() || !keys[1].RetiredAt.IsZero() {
		t.Fatalf("ListKeys does not list the active keys first: %+v", keys)
	}
	// A failed rotation (duplicate kid) must not retire the active key.
	wantErr(t, s.RotateKeys(ctx, second, until), store.ErrConflict, "rotation to an existing kid")
	keys, err = s.ListKeys(ctx)
	must(t, err, "ListKeys")
	if !keys[0].RetiredAt.IsZero() {
		t.Fatalf("failed rotation retired the active key")
	}
}

// RefreshTokens checks refresh token storage and family revocation.
func RefreshTokens(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	a := store.RefreshToken{ID: newID(), Hash: "h1", FamilyID: "f1", TenantID: "t", UserID: "u", ClientID: "c",
		Scopes: "openid offline_access", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	b := a
	b.ID, b.Hash = newID(), "h2"
	c := a
	c.ID, c.Hash, c.FamilyID = newID(), "h3", "f2"
	for _, tok := range []store.RefreshToken{a, b, c} {
		must(t, s.CreateRefreshToken(ctx, tok), "CreateRefreshToken")
	}
	wantErr(t, s.CreateRefreshToken(ctx, a), store.ErrConflict, "duplicate refresh token")
	got, err := s.RefreshTokenByHash(ctx, "h1")
	must(t, err, "RefreshTokenByHash")
	if got != a {
		t.Fatalf("RefreshTokenByHash:\n got %+v\nwant %+v", got, a)
	}
	revokedAt := base.Add(time.Minute)
	must(t, s.RevokeRefreshFamily(ctx, "f1", revokedAt), "RevokeRefreshFamily")
	for hash, wantRevoked := range map[string]bool{"h1": true, "h2": true, "h3": false} {
		tok, err := s.RefreshTokenByHash(ctx, hash)
		must(t, err, "RefreshTokenByHash "+hash)
		if tok.RevokedAt.Equal(revokedAt) != wantRevoked {
			t.Fatalf("token %s revoked at %v, want revoked=%v", hash, tok.RevokedAt, wantRevoked)
		}
	}
	_, err = s.RefreshTokenByHash(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "unknown refresh token")
}

// Secrets checks that a named secret is generated once and then kept.
func Secrets(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	calls := 0
	gen := func() ([]byte, error) { calls++; return []byte{byte(calls), 7, 7}, nil }
	v1, err := s.Secret(ctx, "hmac", gen)
	must(t, err, "Secret")
	v2, err := s.Secret(ctx, "hmac", gen)
	must(t, err, "Secret again")
	if !reflect.DeepEqual(v1, v2) || calls != 1 {
		t.Fatalf("Secret: first %v, second %v, generator called %d times", v1, v2, calls)
	}
	v3, err := s.Secret(ctx, "other", gen)
	must(t, err, "Secret other")
	if reflect.DeepEqual(v1, v3) {
		t.Fatalf("two names share one secret")
	}
}
