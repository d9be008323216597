package oidc

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// TestKeyRotationKeepsOldKeyPublished: a directory from before ES256 keys
// signs everything RS256 until EnsureKeys adds an ES256 key; after a
// rotation the new keys sign, the old ones stay in the JWKS until their
// publish window ends, and running servers notice within keyRefresh.
func TestKeyRotationKeepsOldKeyPublished(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	first, err := GenerateKey(now, AlgRS256)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(ctx, first); err != nil {
		t.Fatal(err)
	}
	ks := NewKeySet(db, clock)
	kids := func() []string {
		set, err := ks.JWKS(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.KeyID)
		}
		return out
	}
	signingKid := func(get func(context.Context) (jose.Signer, error)) any {
		s, err := get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s.Options().ExtraHeaders["kid"]
	}
	if got := kids(); len(got) != 1 || got[0] != first.ID {
		t.Fatalf("initial JWKS = %v", got)
	}
	if kid := signingKid(ks.SelfSigner); kid != first.ID {
		t.Fatalf("without an ES256 key, self-audience tokens are signed by %v, want the RS256 key %s", kid, first.ID)
	}
	created, err := EnsureKeys(ctx, db, now)
	if err != nil || len(created) != 1 || created[0].Algorithm != AlgES256 {
		t.Fatalf("EnsureKeys = %+v, %v; want one new ES256 key", created, err)
	}
	if again, err := EnsureKeys(ctx, db, now); err != nil || len(again) != 0 {
		t.Fatalf("second EnsureKeys = %+v, %v; want nothing new", again, err)
	}
	now = now.Add(keyRefresh)
	if kid := signingKid(ks.SelfSigner); kid != created[0].ID {
		t.Fatalf("self-audience signer = %v, want the ES256 key %s", kid, created[0].ID)
	}
	rotated, err := RotateKeys(ctx, db, now, time.Hour)
	if err != nil || len(rotated) != 2 {
		t.Fatalf("RotateKeys = %+v, %v", rotated, err)
	}
	if got := kids(); len(got) != 2 {
		t.Fatalf("JWKS changed before the refresh interval: %v", got)
	}
	now = now.Add(keyRefresh)
	if got := kids(); len(got) != 4 || !slices.Contains(got, first.ID) || !slices.Contains(got, created[0].ID) ||
		!slices.Contains(got, rotated[0].ID) || !slices.Contains(got, rotated[1].ID) {
		t.Fatalf("JWKS after rotation = %v, want the two new and the two old keys", got)
	}
	if kid := signingKid(ks.Signer); kid != rotated[0].ID {
		t.Fatalf("signing with %v, want the new RS256 key %s", kid, rotated[0].ID)
	}
	if kid := signingKid(ks.SelfSigner); kid != rotated[1].ID {
		t.Fatalf("self-signing with %v, want the new ES256 key %s", kid, rotated[1].ID)
	}
	now = now.Add(time.Hour + keyRefresh)
	if got := kids(); len(got) != 2 || got[0] != rotated[1].ID && got[1] != rotated[1].ID {
		t.Fatalf("JWKS after the publish window = %v, want only %s and %s", got, rotated[0].ID, rotated[1].ID)
	}
}

// TestSignChoosesAlgorithmByAudience: Graph-audience access tokens are
// ES256, tokens for anyone else RS256, and both verify against the JWKS.
func TestSignChoosesAlgorithmByAudience(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := EnsureKeys(ctx, db, time.Now()); err != nil {
		t.Fatal(err)
	}
	p := &Provider{publicURL: "https://login.contoso.test", keys: NewKeySet(db, time.Now), now: time.Now}
	set, err := p.keys.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for aud, want := range map[string]string{GraphAppID: AlgES256, "11111111-2222-4333-8444-555555555555": AlgRS256} {
		raw, err := p.sign(ctx, p.baseClaims("t", aud, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Headers[0].Algorithm; got != want {
			t.Errorf("aud %s: signed %s, want %s", aud, got, want)
		}
		keys := set.Key(tok.Headers[0].KeyID)
		var claims jwt.Claims
		if len(keys) != 1 || keys[0].Algorithm != want || tok.Claims(keys[0].Public().Key, &claims) != nil {
			t.Errorf("aud %s: token does not verify with its published key %+v", aud, keys)
		}
	}
}
