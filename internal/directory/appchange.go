package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// CLIClientID is the built-in public client "Portcullis CLI". It cannot be
// deleted: administrators sign in to the API through it.
const CLIClientID = "8c4c9a7e-56e4-4d3b-9f0e-5f7c2d1b9a10"

// MaxAppSecrets bounds an app's client secrets: enough to rotate with
// overlap, few enough that a forgotten secret stands out.
const MaxAppSecrets = 5

// appWrites serialises read-modify-write of app registrations in this
// process, so two administrators adding secrets at once both keep theirs.
var appWrites sync.Mutex

// AppChange is a partial update of an app registration; nil fields stay.
type AppChange struct {
	Name               *string
	RedirectURIs       *[]string
	AllowPasswordGrant *bool
}

// UpdateApp applies ch to the tenant's app and returns it before and after.
func (s *Service) UpdateApp(ctx context.Context, tenantID, clientID string, ch AppChange) (before, after store.App, err error) {
	err = s.changeApp(ctx, tenantID, clientID, func(a *store.App) error {
		before = cloneApp(*a)
		if ch.Name != nil {
			if strings.TrimSpace(*ch.Name) == "" {
				return invalidf("an app needs a name")
			}
			a.DisplayName = strings.TrimSpace(*ch.Name)
		}
		if ch.RedirectURIs != nil {
			for _, u := range *ch.RedirectURIs {
				if err := checkRedirectURI(u, a.Public); err != nil {
					return err
				}
			}
			a.RedirectURIs = dedupe(*ch.RedirectURIs)
		}
		if ch.AllowPasswordGrant != nil {
			a.AllowedGrants = slices.DeleteFunc(a.AllowedGrants, func(g string) bool {
				return g == store.GrantPassword || g == store.GrantRefreshToken
			})
			if *ch.AllowPasswordGrant {
				a.AllowedGrants = dedupe(append(a.AllowedGrants, store.GrantPassword, store.GrantRefreshToken))
			}
		}
		after = *a
		return nil
	})
	return before, after, err
}

// AddAppSecret generates a client secret for a confidential app and returns
// it (shown once) with its stored description.
func (s *Service) AddAppSecret(ctx context.Context, tenantID, clientID string, lifetime time.Duration) (string, store.ClientSecret, error) {
	var secret string
	var cs store.ClientSecret
	err := s.changeApp(ctx, tenantID, clientID, func(a *store.App) error {
		if a.Public {
			return invalidf("%s is a public client: public clients cannot hold secrets", a.DisplayName)
		}
		if len(a.Secrets) >= MaxAppSecrets {
			return invalidf("%s already has %d client secrets, the maximum: remove one first", a.DisplayName, len(a.Secrets))
		}
		if lifetime < 0 || lifetime > 2*365*24*time.Hour {
			return invalidf("a secret lifetime must be at most two years")
		}
		secret, cs = NewClientSecret(s.now(), lifetime)
		a.Secrets = append(a.Secrets, cs)
		return nil
	})
	return secret, cs, err
}

// RemoveAppSecret deletes one client secret (Graph's keyId) at once: tokens
// can no longer be obtained with it.
func (s *Service) RemoveAppSecret(ctx context.Context, tenantID, clientID, keyID string) (store.ClientSecret, error) {
	var removed store.ClientSecret
	err := s.changeApp(ctx, tenantID, clientID, func(a *store.App) error {
		i := slices.IndexFunc(a.Secrets, func(cs store.ClientSecret) bool { return strings.EqualFold(cs.ID, keyID) })
		if i < 0 {
			return fmt.Errorf("client secret %s of %s: %w", keyID, a.DisplayName, store.ErrNotFound)
		}
		removed = a.Secrets[i]
		a.Secrets = slices.Delete(a.Secrets, i, i+1)
		return nil
	})
	return removed, err
}

// DeleteApp removes an app registration with its secrets, role assignments
// and refresh tokens, and returns what it removed.
func (s *Service) DeleteApp(ctx context.Context, tenantID, clientID string) (store.App, error) {
	appWrites.Lock()
	defer appWrites.Unlock()
	a, err := s.tenantApp(ctx, tenantID, clientID)
	if err != nil {
		return a, err
	}
	if a.ClientID == CLIClientID {
		return a, invalidf("%s is built in: administrators sign in through it", a.DisplayName)
	}
	if err := s.store.DeleteApp(ctx, tenantID, a.ClientID); err != nil {
		return a, fmt.Errorf("delete app %s: %w", a.DisplayName, err)
	}
	return a, nil
}

// changeApp reads the tenant's app, lets fn change it and stores it.
func (s *Service) changeApp(ctx context.Context, tenantID, clientID string, fn func(*store.App) error) error {
	appWrites.Lock()
	defer appWrites.Unlock()
	a, err := s.tenantApp(ctx, tenantID, clientID)
	if err != nil {
		return err
	}
	if err := fn(&a); err != nil {
		return err
	}
	if err := s.store.UpdateApp(ctx, a); err != nil {
		return fmt.Errorf("update app %s: %w", a.DisplayName, err)
	}
	return nil
}

// tenantApp finds an app by client ID within one tenant only.
func (s *Service) tenantApp(ctx context.Context, tenantID, clientID string) (store.App, error) {
	a, err := s.store.GetApp(ctx, strings.ToLower(strings.TrimSpace(clientID)))
	if err == nil && a.TenantID != tenantID {
		err = store.ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("app %s: %w", clientID, err)
	}
	return a, nil
}

func cloneApp(a store.App) store.App {
	a.Secrets = slices.Clone(a.Secrets)
	a.RedirectURIs = slices.Clone(a.RedirectURIs)
	a.AllowedGrants = slices.Clone(a.AllowedGrants)
	return a
}
