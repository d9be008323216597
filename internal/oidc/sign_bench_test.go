package oidc

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// BenchmarkSignToken measures signing one JWT with Entra-style claims (the
// per-token cost of a successful sign-in besides the hash): RS256 for an ID
// token or a registered API, ES256 for Portcullis's own Graph audience.
func BenchmarkSignToken(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "k.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := EnsureKeys(ctx, db, time.Now()); err != nil {
		b.Fatal(err)
	}
	p := &Provider{publicURL: "https://login.contoso.test", keys: NewKeySet(db, time.Now), now: time.Now,
		lifetimes: Lifetimes{Access: time.Hour, ID: time.Hour}}
	for _, bc := range []struct{ name, aud string }{
		{"RS256", "11111111-2222-4333-8444-555555555555"}, {"ES256", GraphAppID},
	} {
		b.Run(bc.name, func(b *testing.B) {
			claims := p.baseClaims("00000000-0000-4000-8000-000000000001", bc.aud, time.Hour)
			claims["oid"], claims["scp"], claims["name"] = "u", "openid profile email", "Alice Smith"
			for b.Loop() {
				if _, err := p.sign(ctx, claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
