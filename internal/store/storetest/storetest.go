// Package storetest holds the storage conformance suites. Every backend runs
// them unchanged from a tiny test file, so the services above can rely on the
// contracts in package store whichever backend is configured.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Factory returns a fresh, empty store; it registers its own cleanup.
type Factory func(t *testing.T) store.Store

// RunAll runs every suite.
func RunAll(t *testing.T, newStore Factory) {
	t.Run("Tenants", func(t *testing.T) { Tenants(t, newStore) })
	t.Run("Users", func(t *testing.T) { Users(t, newStore) })
	t.Run("Apps", func(t *testing.T) { Apps(t, newStore) })
	t.Run("Keys", func(t *testing.T) { Keys(t, newStore) })
	t.Run("RefreshTokens", func(t *testing.T) { RefreshTokens(t, newStore) })
	t.Run("SignInLogs", func(t *testing.T) { SignInLogs(t, newStore) })
	t.Run("Secrets", func(t *testing.T) { Secrets(t, newStore) })
	t.Run("Browser", func(t *testing.T) { Browser(t, newStore) })
	t.Run("Concurrency", func(t *testing.T) { Concurrency(t, newStore) })
	t.Run("Budgets", func(t *testing.T) { Budgets(t, newStore) })
	t.Run("Lockouts", func(t *testing.T) { Lockouts(t, newStore) })
	t.Run("LockoutPolicies", func(t *testing.T) { LockoutPolicies(t, newStore) })
	t.Run("FamiliarNetworks", func(t *testing.T) { FamiliarNetworks(t, newStore) })
	t.Run("IPBlocks", func(t *testing.T) { IPBlocks(t, newStore) })
	t.Run("NamedLocations", func(t *testing.T) { NamedLocations(t, newStore) })
	t.Run("RoleAssignments", func(t *testing.T) { RoleAssignments(t, newStore) })
	t.Run("DirectoryAudits", func(t *testing.T) { DirectoryAudits(t, newStore) })
	t.Run("SignInSearch", func(t *testing.T) { SignInSearch(t, newStore) })
	t.Run("SignInAddressSearch", func(t *testing.T) { SignInAddressSearch(t, newStore) })
	t.Run("SignInSummary", func(t *testing.T) { SignInSummary(t, newStore) })
	t.Run("Retention", func(t *testing.T) { Retention(t, newStore) })
}

// base is a fixed instant with microsecond precision, the resolution every
// backend must preserve.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// idSeq is atomic because concurrency suites create records from goroutines.
var idSeq atomic.Int64

func newID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", idSeq.Add(1))
}

func seedTenant(t *testing.T, s store.Store, domains ...string) store.Tenant {
	t.Helper()
	tn := store.Tenant{ID: newID(), DisplayName: "Contoso", Domains: domains, CreatedAt: base}
	if err := s.CreateTenant(context.Background(), tn); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	return tn
}

func newUser(tenantID, upn string) store.User {
	return store.User{
		ID: newID(), TenantID: tenantID, UserPrincipalName: upn, LoginKey: upn, DisplayName: "User " + upn,
		AccountEnabled: true, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		LastPasswordChangeDateTime: base, CreatedAt: base, UpdatedAt: base,
	}
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Tenants checks tenant creation and lookup by ID and domain.
func Tenants(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	tn := seedTenant(t, s, "contoso.test", "contoso.example")
	got, err := s.GetTenant(ctx, tn.ID)
	must(t, err, "GetTenant")
	if got.DisplayName != tn.DisplayName || len(got.Domains) != 2 || got.Domains[0] != "contoso.test" ||
		!got.CreatedAt.Equal(base) {
		t.Fatalf("GetTenant = %+v, want %+v", got, tn)
	}
	byDomain, err := s.TenantByDomain(ctx, "contoso.example")
	must(t, err, "TenantByDomain")
	if byDomain.ID != tn.ID {
		t.Fatalf("TenantByDomain = %s, want %s", byDomain.ID, tn.ID)
	}
	_, err = s.TenantByDomain(ctx, "fabrikam.test")
	wantErr(t, err, store.ErrNotFound, "unknown domain")
	_, err = s.GetTenant(ctx, newID())
	wantErr(t, err, store.ErrNotFound, "unknown tenant")
	err = s.CreateTenant(ctx, store.Tenant{ID: newID(), DisplayName: "Other", Domains: []string{"contoso.test"}, CreatedAt: base})
	wantErr(t, err, store.ErrConflict, "domain claimed twice")
	set := func(terms ...string) func([]string) ([]string, error) {
		return func([]string) ([]string, error) { return terms, nil }
	}
	before, after, err := s.UpdateBannedPasswordTerms(ctx, tn.ID, set("contoso", "Fabrikam", "contoso"))
	must(t, err, "UpdateBannedPasswordTerms")
	if len(before) != 0 || !slices.Equal(after, []string{"Fabrikam", "contoso"}) {
		t.Fatalf("first update: before %q after %q, want [] and [Fabrikam contoso]", before, after)
	}
	got, err = s.GetTenant(ctx, tn.ID)
	must(t, err, "GetTenant")
	if !slices.Equal(got.BannedPasswordTerms, []string{"Fabrikam", "contoso"}) {
		t.Fatalf("banned terms = %q, want [Fabrikam contoso]", got.BannedPasswordTerms)
	}
	refusal := errors.New("version changed")
	if _, _, err := s.UpdateBannedPasswordTerms(ctx, tn.ID, func(cur []string) ([]string, error) {
		return nil, refusal
	}); !errors.Is(err, refusal) {
		t.Fatalf("an update that refuses: %v, want its own error", err)
	}
	if got, _ = s.GetTenant(ctx, tn.ID); len(got.BannedPasswordTerms) != 2 {
		t.Fatalf("a refused update changed the terms to %q", got.BannedPasswordTerms)
	}
	// Concurrent read-modify-write updates: each sees the others' results.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_, _, err := s.UpdateBannedPasswordTerms(ctx, tn.ID, func(cur []string) ([]string, error) {
				return append(cur, fmt.Sprintf("term-%d", i)), nil
			})
			if err != nil {
				t.Errorf("concurrent update %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got, _ = s.GetTenant(ctx, tn.ID); len(got.BannedPasswordTerms) != 10 {
		t.Fatalf("after 8 concurrent additions: %d terms %q, want 10 (an update was lost)", len(got.BannedPasswordTerms), got.BannedPasswordTerms)
	}
	if _, _, err := s.UpdateBannedPasswordTerms(ctx, tn.ID, set()); err != nil {
		t.Fatalf("clear banned terms: %v", err)
	}
	if got, _ = s.GetTenant(ctx, tn.ID); len(got.BannedPasswordTerms) != 0 {
		t.Fatalf("banned terms after clearing = %q", got.BannedPasswordTerms)
	}
	_, _, err = s.UpdateBannedPasswordTerms(ctx, newID(), set("x"))
	wantErr(t, err, store.ErrNotFound, "banned terms of unknown tenant")
	all, err := s.ListTenants(ctx)
	must(t, err, "ListTenants")
	if len(all) != 1 {
		t.Fatalf("ListTenants = %d tenants, want 1 (the failed create must leave nothing)", len(all))
	}
}
