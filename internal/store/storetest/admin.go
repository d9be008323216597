package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// RoleAssignments checks create, duplicate refusal, listing by principal,
// tenant isolation and delete.
func RoleAssignments(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	const role, other = "62e90394-69f5-4237-9190-012177145e10", "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	a1 := store.RoleAssignment{ID: newID(), TenantID: "t1", PrincipalID: "alice", RoleDefinitionID: role,
		DirectoryScopeID: "/", CreatedAt: base}
	must(t, s.CreateRoleAssignment(ctx, a1), "CreateRoleAssignment")
	dup := a1
	dup.ID = newID()
	if err := s.CreateRoleAssignment(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same principal, role and scope twice: %v, want ErrConflict", err)
	}
	a2 := store.RoleAssignment{ID: newID(), TenantID: "t1", PrincipalID: "alice", RoleDefinitionID: other,
		DirectoryScopeID: "/", CreatedAt: base.Add(time.Second)}
	a3 := store.RoleAssignment{ID: newID(), TenantID: "t1", PrincipalID: "bob", RoleDefinitionID: role,
		DirectoryScopeID: "/", CreatedAt: base.Add(2 * time.Second)}
	a4 := store.RoleAssignment{ID: newID(), TenantID: "t2", PrincipalID: "alice", RoleDefinitionID: role,
		DirectoryScopeID: "/", CreatedAt: base}
	for _, a := range []store.RoleAssignment{a2, a3, a4} {
		must(t, s.CreateRoleAssignment(ctx, a), "CreateRoleAssignment")
	}
	alice, err := s.ListRoleAssignments(ctx, "t1", "alice")
	must(t, err, "ListRoleAssignments alice")
	if len(alice) != 2 || alice[0] != a1 || alice[1].RoleDefinitionID != other || !sameTime(alice[1].CreatedAt, a2.CreatedAt) {
		t.Fatalf("alice's assignments in t1: %+v", alice)
	}
	all, err := s.ListRoleAssignments(ctx, "t1", "")
	must(t, err, "ListRoleAssignments all")
	if len(all) != 3 || all[2].PrincipalID != "bob" {
		t.Fatalf("t1's assignments: %+v", all)
	}
	must(t, s.DeleteRoleAssignment(ctx, "t1", a1.ID), "DeleteRoleAssignment")
	if err := s.DeleteRoleAssignment(ctx, "t1", a1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v, want ErrNotFound", err)
	}
	if err := s.DeleteRoleAssignment(ctx, "t1", a4.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting another tenant's assignment: %v, want ErrNotFound", err)
	}
	if left, _ := s.ListRoleAssignments(ctx, "t1", "alice"); len(left) != 1 || left[0].ID != a2.ID {
		t.Fatalf("after delete: %+v", left)
	}
}

// DirectoryAudits checks append, filters, ordering and tenant isolation.
func DirectoryAudits(t *testing.T, newStore Factory) {
	ctx := context.Background()
	s := newStore(t)
	row := func(tenant, by, target, activity string, at time.Time) store.AuditRow {
		return store.AuditRow{ID: newID(), TenantID: tenant, CreatedAt: at, Category: "UserManagement",
			Activity: activity, Result: "success", InitiatedBy: by, TargetID: target, CorrelationID: newID(),
			Body: []byte(`{"activityDisplayName":"` + activity + `"}`)}
	}
	rows := []store.AuditRow{
		row("t1", "admin", "alice", "Unlock user", base),
		row("t1", "helpdesk", "alice", "Reset user password", base.Add(time.Minute)),
		row("t1", "admin", "bob", "Add member to role", base.Add(2*time.Minute)),
		row("t2", "admin", "alice", "Unlock user", base.Add(3*time.Minute)),
	}
	for _, r := range rows {
		must(t, s.AppendAudit(ctx, r), "AppendAudit")
	}
	if err := s.AppendAudit(ctx, rows[0]); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("appending the same ID twice: %v, want ErrConflict", err)
	}
	// A batch is all or nothing: a duplicate in it leaves none appended.
	fresh := row("t3", "admin", "carol", "Add user", base)
	if err := s.AppendAudit(ctx, fresh, rows[1]); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a batch holding a known ID: %v, want ErrConflict", err)
	}
	if got, _ := s.QueryAudits(ctx, store.AuditQuery{TenantID: "t3"}); len(got) != 0 {
		t.Fatalf("the failed batch appended %d records", len(got))
	}
	check := func(q store.AuditQuery, want ...int) {
		t.Helper()
		got, err := s.QueryAudits(ctx, q)
		must(t, err, "QueryAudits")
		if len(got) != len(want) {
			t.Fatalf("QueryAudits(%+v) returned %d rows, want %d", q, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.ID != rows[w].ID || string(g.Body) != string(rows[w].Body) || !sameTime(g.CreatedAt, rows[w].CreatedAt) ||
				g.Activity != rows[w].Activity || g.InitiatedBy != rows[w].InitiatedBy || g.TargetID != rows[w].TargetID ||
				g.CorrelationID != rows[w].CorrelationID || g.Result != rows[w].Result || g.Category != rows[w].Category {
				t.Fatalf("QueryAudits(%+v)[%d] = %+v, want %+v", q, i, g, rows[w])
			}
		}
	}
	check(store.AuditQuery{TenantID: "t1"}, 2, 1, 0)
	check(store.AuditQuery{TenantID: "t1", TargetID: "alice"}, 1, 0)
	check(store.AuditQuery{TenantID: "t1", InitiatedBy: "admin"}, 2, 0)
	check(store.AuditQuery{TenantID: "t1", Activity: "Unlock user"}, 0)
	check(store.AuditQuery{TenantID: "t1", Since: base.Add(time.Minute), Until: base.Add(time.Minute)}, 1)
	check(store.AuditQuery{TenantID: "t1", Limit: 1}, 2)
	check(store.AuditQuery{TenantID: "t3"})
	// Paging on from a record: older ones only, whatever is appended after.
	after := func(i int) *store.SignInCursor {
		return &store.SignInCursor{CreatedAt: rows[i].CreatedAt, ID: rows[i].ID}
	}
	must(t, s.AppendAudit(ctx, row("t1", "admin", "dave", "Add user", base.Add(time.Hour))), "AppendAudit newer")
	check(store.AuditQuery{TenantID: "t1", Limit: 1, After: after(2)}, 1)
	check(store.AuditQuery{TenantID: "t1", After: after(1)}, 0)
	check(store.AuditQuery{TenantID: "t1", TargetID: "alice", After: after(1)}, 0)
	check(store.AuditQuery{TenantID: "t1", After: after(0)})
	// Two records in the same microsecond are told apart by ID.
	twinA, twinB := row("t4", "admin", "x", "Add user", base), row("t4", "admin", "y", "Add user", base)
	twinA.ID, twinB.ID = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
	must(t, s.AppendAudit(ctx, twinA, twinB), "AppendAudit twins")
	if got, _ := s.QueryAudits(ctx, store.AuditQuery{TenantID: "t4", After: &store.SignInCursor{CreatedAt: base, ID: twinB.ID}}); len(got) != 1 || got[0].ID != twinA.ID {
		t.Fatalf("paging past a record of the same time: %+v", got)
	}
}
