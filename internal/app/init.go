// Package app is the composition root: it turns a config into open stores,
// services, handlers and a listening server, and initialises new data
// directories. Nothing else wires packages together.
package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// CLIClientID is the client ID of the built-in first-party public client
// "Portcullis CLI", registered in every tenant at init.
const CLIClientID = directory.CLIClientID

// DefaultDomain is the domain of a directory created by a first `serve`.
const DefaultDomain = "portcullis.localhost"

// ErrNotInitialised means the data directory has no tenant yet.
var ErrNotInitialised = errors.New("data directory is not initialised: run `portcullis init`")

// ErrAlreadyInitialised means init was run on a directory that has a tenant.
var ErrAlreadyInitialised = errors.New("data directory is already initialised")

// OpenConfiguredStore opens the store the configuration names: SQLite in
// the data directory, or the PostgreSQL database at storage.dsn.
func OpenConfiguredStore(ctx context.Context, cfg config.Config) (*sqlstore.DB, error) {
	if cfg.Storage.Type == "postgres" {
		return sqlstore.OpenPostgres(ctx, cfg.Storage.DSN)
	}
	return OpenStore(ctx, cfg.DataDir)
}

// OpenStore opens the SQLite database of a data directory.
func OpenStore(ctx context.Context, dataDir string) (*sqlstore.DB, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dataDir, err)
	}
	return sqlstore.Open(ctx, filepath.Join(dataDir, sqlstore.FileName))
}

// DirectoryService builds the directory service from config.
func DirectoryService(s directory.Store, cfg config.Config) *directory.Service {
	policy := password.DefaultPolicy()
	policy.MinLength = cfg.Passwords.MinLength
	return directory.NewService(s, policy, HashParams(cfg))
}

// KeyOverlap is how long a rotated-out signing key stays published: tokens
// it signed live at most the longest token lifetime, plus a margin for clock
// skew.
func KeyOverlap(cfg config.Config) time.Duration {
	return max(cfg.Tokens.AccessTokenLifetime, cfg.Tokens.IDTokenLifetime) + 5*time.Minute
}

// HashParams converts config to hashing parameters.
func HashParams(cfg config.Config) password.Params {
	a := cfg.Passwords.Argon2
	return password.Params{MemoryKiB: a.MemoryKiB, Iterations: a.Iterations, Parallelism: a.Parallelism}
}

// InitOptions describes a new directory.
type InitOptions struct {
	Domain        string
	AdminUPN      string // default admin@{domain}
	AdminPassword string // "" = generate one
}

// InitResult says what init created. AdminPassword is set only when it was
// generated, so it can be shown once.
type InitResult struct {
	Tenant        store.Tenant
	Admin         store.User
	AdminPassword string
	CLIApp        store.App
	KeyID         string
}

// Initialise creates the tenant, its administrator, the built-in CLI app and
// the first signing key.
func Initialise(ctx context.Context, db store.Store, cfg config.Config, opts InitOptions) (InitResult, error) {
	var res InitResult
	if tenants, err := db.ListTenants(ctx); err != nil {
		return res, err
	} else if len(tenants) > 0 {
		return res, fmt.Errorf("%w (tenant %s)", ErrAlreadyInitialised, tenants[0].Domains[0])
	}
	dir := DirectoryService(db, cfg)
	domain, err := directory.NormaliseDomain(opts.Domain)
	if err != nil {
		return res, err
	}
	if opts.AdminUPN == "" {
		opts.AdminUPN = "admin@" + domain
	}
	admin := directory.NewUser{UserPrincipalName: opts.AdminUPN, DisplayName: "Administrator",
		Password: opts.AdminPassword, AccountEnabled: true}
	if admin.Password == "" {
		admin.Password = GeneratePassword()
		res.AdminPassword = admin.Password
	}
	// Check the administrator before writing anything: a rejected password
	// must not leave a tenant without administrator, app or key behind.
	if err := dir.CheckNewUser(store.Tenant{Domains: []string{domain}}, admin); err != nil {
		return res, fmt.Errorf("create administrator: %w", err)
	}
	t, err := dir.CreateTenant(ctx, "", domain)
	if err != nil {
		return res, err
	}
	res.Tenant = t
	if res.Admin, err = dir.AddUser(ctx, t, admin); err != nil {
		return res, fmt.Errorf("create administrator: %w", err)
	}
	if err := db.CreateRoleAssignment(ctx, store.RoleAssignment{ID: uuid.NewString(), TenantID: t.ID,
		PrincipalID: res.Admin.ID, RoleDefinitionID: rbac.GlobalAdministrator, DirectoryScopeID: "/",
		CreatedAt: time.Now().UTC()}); err != nil {
		return res, fmt.Errorf("make the administrator a Global Administrator: %w", err)
	}
	res.CLIApp, _, err = dir.AddApp(ctx, t, directory.NewApp{Name: "Portcullis CLI", Public: true,
		ClientID: CLIClientID, AllowPasswordGrant: true, RedirectURIs: []string{"http://localhost"}})
	if err != nil {
		return res, fmt.Errorf("register the CLI app: %w", err)
	}
	created, err := oidc.EnsureKeys(ctx, db, time.Now())
	if err != nil {
		return res, err
	}
	for _, k := range created {
		if k.Algorithm == oidc.AlgRS256 {
			res.KeyID = k.ID
		}
	}
	return res, nil
}

// GeneratePassword returns a generated password (see password.Generate).
func GeneratePassword() string { return password.Generate() }

// SingleTenant returns the only tenant (this release serves one per data
// directory) or ErrNotInitialised.
func SingleTenant(ctx context.Context, s store.Tenants) (store.Tenant, error) {
	ts, err := s.ListTenants(ctx)
	if err != nil {
		return store.Tenant{}, err
	}
	if len(ts) == 0 {
		return store.Tenant{}, ErrNotInitialised
	}
	return ts[0], nil
}
