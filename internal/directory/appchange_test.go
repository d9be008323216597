package directory_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/store"
)

func TestAppChanges(t *testing.T) {
	svc, db, tn := newService(t)
	ctx := context.Background()
	web, first, err := svc.AddApp(ctx, tn, directory.NewApp{Name: "Payroll", RedirectURIs: []string{"https://payroll.contoso.test/cb"}})
	if err != nil || first == "" {
		t.Fatal(err)
	}
	name, uris, ropc := " Payroll v2 ", []string{"https://payroll.contoso.test/v2", "https://payroll.contoso.test/v2"}, true
	before, after, err := svc.UpdateApp(ctx, tn.ID, web.ClientID, directory.AppChange{Name: &name, RedirectURIs: &uris, AllowPasswordGrant: &ropc})
	if err != nil {
		t.Fatal(err)
	}
	if before.DisplayName != "Payroll" || after.DisplayName != "Payroll v2" || !slices.Equal(after.RedirectURIs, uris[:1]) ||
		!after.Allows(store.GrantPassword) || !after.Allows(store.GrantClientCredentials) {
		t.Fatalf("update: before %+v after %+v", before, after)
	}
	bad := []string{"http://payroll.contoso.test/cb"}
	if _, _, err := svc.UpdateApp(ctx, tn.ID, web.ClientID, directory.AppChange{RedirectURIs: &bad}); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("plain-http redirect URI for a web app: %v", err)
	}
	ropc = false
	// Refresh tokens stay: the app's redirect URIs are for browser sign-in.
	if _, after, err = svc.UpdateApp(ctx, tn.ID, web.ClientID, directory.AppChange{AllowPasswordGrant: &ropc}); err != nil ||
		after.Allows(store.GrantPassword) || !after.Allows(store.GrantRefreshToken) {
		t.Fatalf("password grant off: %+v, %v", after, err)
	}

	// Concurrent secret additions all survive; the sixth is refused.
	var wg sync.WaitGroup
	errs := make(chan error, directory.MaxAppSecrets)
	for range directory.MaxAppSecrets - 1 {
		wg.Go(func() {
			_, _, err := svc.AddAppSecret(ctx, tn.ID, web.ClientID, 30*24*time.Hour)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.GetApp(ctx, web.ClientID)
	if err != nil || len(got.Secrets) != directory.MaxAppSecrets {
		t.Fatalf("secrets after concurrent additions: %d, %v", len(got.Secrets), err)
	}
	if _, _, err := svc.AddAppSecret(ctx, tn.ID, web.ClientID, time.Hour); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("secret beyond the maximum: %v", err)
	}
	removed, err := svc.RemoveAppSecret(ctx, tn.ID, web.ClientID, got.Secrets[0].ID)
	if err != nil || removed.ID != got.Secrets[0].ID {
		t.Fatalf("remove secret: %+v, %v", removed, err)
	}
	if _, err := svc.RemoveAppSecret(ctx, tn.ID, web.ClientID, got.Secrets[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove it again: %v", err)
	}

	native, _, err := svc.AddApp(ctx, tn, directory.NewApp{Name: "Desktop", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.AddAppSecret(ctx, tn.ID, native.ClientID, time.Hour); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("secret for a public client: %v", err)
	}
	cli, _, err := svc.AddApp(ctx, tn, directory.NewApp{Name: "Portcullis CLI", Public: true, ClientID: directory.CLIClientID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DeleteApp(ctx, tn.ID, cli.ClientID); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("deleting the built-in CLI app: %v", err)
	}
	if _, err := svc.DeleteApp(ctx, "another-tenant", web.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting from another tenant: %v", err)
	}
	if gone, err := svc.DeleteApp(ctx, tn.ID, web.ClientID); err != nil || gone.ClientID != web.ClientID {
		t.Fatalf("delete: %+v, %v", gone, err)
	}
	if _, err := db.GetApp(ctx, web.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("app after delete: %v", err)
	}
}
