package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// Users checks user creation, the shared UPN/mail namespace, lookups,
// updates and paging.
func Users(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	tn := seedTenant(t, s, "contoso.test")
	other := seedTenant(t, s, "fabrikam.test")

	alice := newUser(tn.ID, "alice@contoso.test")
	alice.Mail, alice.MailKey = "Alice.Smith@contoso.test", "alice.smith@contoso.test"
	alice.ForceChangePasswordNextSignIn = true
	must(t, s.CreateUsers(ctx, alice), "CreateUsers")

	got, err := s.GetUser(ctx, tn.ID, alice.ID)
	must(t, err, "GetUser")
	if got != alice {
		t.Fatalf("GetUser round trip:\n got %+v\nwant %+v", got, alice)
	}
	for _, key := range []string{"alice@contoso.test", "alice.smith@contoso.test"} {
		u, err := s.UserByLogin(ctx, tn.ID, key)
		must(t, err, "UserByLogin "+key)
		if u.ID != alice.ID {
			t.Fatalf("UserByLogin(%s) = %s, want %s", key, u.ID, alice.ID)
		}
	}
	_, err = s.UserByLogin(ctx, other.ID, "alice@contoso.test")
	wantErr(t, err, store.ErrNotFound, "login looked up in another tenant")
	_, err = s.GetUser(ctx, other.ID, alice.ID)
	wantErr(t, err, store.ErrNotFound, "user read through another tenant")

	// A new user may not take alice's mail as UPN: logins resolve both.
	clash := newUser(tn.ID, "alice.smith@contoso.test")
	wantErr(t, s.CreateUsers(ctx, clash), store.ErrConflict, "UPN equal to another user's mail")
	wantErr(t, s.CreateUsers(ctx, newUser(tn.ID, "alice@contoso.test")), store.ErrConflict, "duplicate UPN")

	// Batches are atomic: one bad row and nothing is created.
	bob, carol := newUser(tn.ID, "bob@contoso.test"), newUser(tn.ID, "carol@contoso.test")
	wantErr(t, s.CreateUsers(ctx, bob, carol, newUser(tn.ID, "bob@contoso.test")), store.ErrConflict, "batch with duplicate")
	_, err = s.UserByLogin(ctx, tn.ID, "bob@contoso.test")
	wantErr(t, err, store.ErrNotFound, "user from a failed batch")
	must(t, s.CreateUsers(ctx, bob, carol), "CreateUsers batch")

	alice.AccountEnabled = false
	alice.Mail, alice.MailKey = "", ""
	alice.PasswordHash = "$2a$10$abcdefghijklmnopqrstuu5Qm6mK6n3m0W4d7cQ1e3n9aB8c7d6e5f"
	alice.UpdatedAt = base.Add(time.Microsecond)
	alice.SignInSessionsValidFrom = base.Add(2 * time.Microsecond)
	must(t, s.UpdateUser(ctx, alice), "UpdateUser")
	got, err = s.GetUser(ctx, tn.ID, alice.ID)
	must(t, err, "GetUser after update")
	if got != alice {
		t.Fatalf("after UpdateUser:\n got %+v\nwant %+v", got, alice)
	}
	_, err = s.UserByLogin(ctx, tn.ID, "alice.smith@contoso.test")
	wantErr(t, err, store.ErrNotFound, "removed mail still resolves")
	wantErr(t, s.UpdateUser(ctx, newUser(tn.ID, "nobody@contoso.test")), store.ErrNotFound, "update of unknown user")

	// Optimistic concurrency: the second writer holding the same version loses.
	first, second := alice, alice
	first.DisplayName, first.UpdatedAt = "First", alice.UpdatedAt.Add(time.Microsecond)
	second.DisplayName, second.UpdatedAt = "Second", alice.UpdatedAt.Add(2*time.Microsecond)
	must(t, s.UpdateUserIfUnchanged(ctx, first, alice.UpdatedAt), "UpdateUserIfUnchanged")
	wantErr(t, s.UpdateUserIfUnchanged(ctx, second, alice.UpdatedAt), store.ErrConflict, "update with a stale version")
	if got, _ := s.GetUser(ctx, tn.ID, alice.ID); got.DisplayName != "First" {
		t.Fatalf("after a refused stale update: %q", got.DisplayName)
	}
	wantErr(t, s.UpdateUserIfUnchanged(ctx, newUser(tn.ID, "nobody@contoso.test"), base), store.ErrNotFound, "conditional update of unknown user")
	alice = first

	// Delete: the user and its names go; another user is untouched.
	doomed := newUser(tn.ID, "doomed@contoso.test")
	must(t, s.CreateUsers(ctx, doomed), "CreateUsers doomed")
	must(t, s.CreateRoleAssignment(ctx, store.RoleAssignment{ID: newID(), TenantID: tn.ID, PrincipalID: doomed.ID,
		RoleDefinitionID: "729827e3-9c14-49f7-bb1b-9608f156bbb8", DirectoryScopeID: "/", CreatedAt: base}), "assign doomed")
	must(t, s.TouchNetwork(ctx, tn.ID, doomed.ID, "203.0.113.0/24", base), "TouchNetwork doomed")
	wantErr(t, s.DeleteUser(ctx, "other-tenant", doomed.ID), store.ErrNotFound, "delete from another tenant")
	must(t, s.DeleteUser(ctx, tn.ID, doomed.ID), "DeleteUser")
	_, err = s.GetUser(ctx, tn.ID, doomed.ID)
	wantErr(t, err, store.ErrNotFound, "deleted user")
	_, err = s.UserByLogin(ctx, tn.ID, "doomed@contoso.test")
	wantErr(t, err, store.ErrNotFound, "deleted user's name")
	if left, _ := s.ListRoleAssignments(ctx, tn.ID, doomed.ID); len(left) != 0 {
		t.Fatalf("deleted user's role assignments remain: %+v", left)
	}
	if nets, _ := s.RecentNetworks(ctx, tn.ID, doomed.ID, time.Time{}, 10); len(nets) != 0 {
		t.Fatalf("deleted user's networks remain: %+v", nets)
	}
	wantErr(t, s.DeleteUser(ctx, tn.ID, doomed.ID), store.ErrNotFound, "deleting twice")
	if _, err := s.GetUser(ctx, tn.ID, alice.ID); err != nil {
		t.Fatalf("another user after a delete: %v", err)
	}

	page1, err := s.ListUsers(ctx, tn.ID, "", 2)
	must(t, err, "ListUsers")
	page2, err := s.ListUsers(ctx, tn.ID, page1[len(page1)-1].LoginKey, 2)
	must(t, err, "ListUsers page 2")
	var keys []string
	for _, u := range append(page1, page2...) {
		keys = append(keys, u.LoginKey)
	}
	want := []string{"alice@contoso.test", "bob@contoso.test", "carol@contoso.test"}
	if len(keys) != len(want) || keys[0] != want[0] || keys[1] != want[1] || keys[2] != want[2] {
		t.Fatalf("paged ListUsers = %v, want %v", keys, want)
	}
}
