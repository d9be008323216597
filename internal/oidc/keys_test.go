package oidc

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// TestKeyRotationKeepsOldKeyPublished: after a rotation the new key signs,
// the old key stays in the JWKS until its publish window ends, and running
// servers notice within keyRefresh.
func TestKeyRotationKeepsOldKeyPublished(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	first, err := GenerateKey(now)
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
	if got := kids(); len(got) != 1 || got[0] != first.ID {
		t.Fatalf("initial JWKS = %v", got)
	}
	second, err := RotateKeys(ctx, db, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(); len(got) != 1 {
		t.Fatalf("JWKS changed before the refresh interval: %v", got)
	}
	now = now.Add(keyRefresh)
	if got := kids(); len(got) != 2 || got[0] != second.ID || got[1] != first.ID {
		t.Fatalf("JWKS after rotation = %v, want [%s %s]", got, second.ID, first.ID)
	}
	signer, err := ks.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kid := signer.Options().ExtraHeaders["kid"]; kid != second.ID {
		t.Fatalf("signing with %v, want the new key %s", kid, second.ID)
	}
	now = now.Add(time.Hour + keyRefresh)
	if got := kids(); len(got) != 1 || got[0] != second.ID {
		t.Fatalf("JWKS after the publish window = %v, want only %s", got, second.ID)
	}
}
