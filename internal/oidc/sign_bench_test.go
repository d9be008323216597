package oidc

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// BenchmarkSignToken measures signing one RS256 JWT with Entra-style claims
// (the per-token cost of a successful sign-in besides the hash).
func BenchmarkSignToken(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "k.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	k, err := GenerateKey(time.Now(), AlgRS256)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.CreateKey(ctx, k); err != nil {
		b.Fatal(err)
	}
	p := &Provider{publicURL: "https://login.contoso.test", keys: NewKeySet(db, time.Now), now: time.Now,
		lifetimes: Lifetimes{Access: time.Hour, ID: time.Hour}}
	claims := p.baseClaims("00000000-0000-4000-8000-000000000001", GraphAppID, time.Hour)
	claims["oid"], claims["scp"], claims["name"] = "u", "openid profile email", "Alice Smith"
	for b.Loop() {
		if _, err := p.sign(ctx, claims); err != nil {
			b.Fatal(err)
		}
	}
}
