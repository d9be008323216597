package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/portcullis-idp/portcullis/internal/admincenter"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// ensureAdminCenterApp registers the admin center's built-in public client,
// or points its one redirect URI at this server's callback when the public
// URL changed. Instances share a public URL (tokens name it as issuer), so
// there is never a second callback to keep.
func ensureAdminCenterApp(ctx context.Context, db store.Store, cfg config.Config, tenant store.Tenant, publicURL string) error {
	redirect := strings.TrimRight(publicURL, "/") + admincenter.CallbackPath
	dir := DirectoryService(db, cfg)
	app, err := db.GetApp(ctx, admincenter.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		_, _, err = dir.AddApp(ctx, tenant, directory.NewApp{Name: "Portcullis admin center", Public: true,
			ClientID: admincenter.ClientID, RedirectURIs: []string{redirect}})
		if errors.Is(err, store.ErrConflict) { // another instance registered it first
			return ensureAdminCenterApp(ctx, db, cfg, tenant, publicURL)
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("read the admin center app: %w", err)
	}
	// Only the current address: a callback left from an earlier public URL
	// would let whoever holds that domain now receive administrators' codes.
	if slices.Equal(app.RedirectURIs, []string{redirect}) {
		return nil
	}
	uris := []string{redirect}
	_, _, err = dir.UpdateApp(ctx, tenant.ID, admincenter.ClientID, directory.AppChange{RedirectURIs: &uris})
	return err
}

// registerAdminCenter serves the admin center under /admin, calling the
// rest of mux (token endpoint, admin API) in process.
func (s *Server) registerAdminCenter(ctx context.Context, cfg config.Config, mux *http.ServeMux, keys *oidc.KeySet,
	logger *slog.Logger) error {
	err := s.db.Exclusive(ctx, "admin-center-app", func() error {
		return ensureAdminCenterApp(ctx, s.db, cfg, s.tenant, s.baseURL)
	})
	if err != nil {
		return fmt.Errorf("register the admin center app: %w", err)
	}
	key, err := adminCenterKey(ctx, s.db)
	if err != nil {
		return err
	}
	center, err := admincenter.New(admincenter.Config{Backend: mux, Store: s.db, Keys: keys, PublicURL: s.baseURL,
		TenantID: s.tenant.ID, CookieKey: key, Logger: logger})
	if err != nil {
		return err
	}
	center.Register(mux)
	return nil
}

// adminCenterKey is the key sealing admin center cookies, shared by every
// instance through the database.
func adminCenterKey(ctx context.Context, db interface {
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
}) ([]byte, error) {
	return db.Secret(ctx, "admin-center-cookie-key", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
}
