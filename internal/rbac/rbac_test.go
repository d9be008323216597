package rbac

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/roles.md")

// TestRolesDocIsGenerated: docs/roles.md is exactly what the tables say.
func TestRolesDocIsGenerated(t *testing.T) {
	const path = "../../docs/roles.md"
	want := Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("docs/roles.md is stale: run go test ./internal/rbac -update")
	}
}

// TestTables: unique roles, known permissions, every route with a real
// permission (or none, for /me only).
func TestTables(t *testing.T) {
	ids, names := map[string]bool{}, map[string]bool{}
	for _, r := range roles {
		if ids[r.ID] || names[r.Name] {
			t.Fatalf("duplicate role %s (%s)", r.Name, r.ID)
		}
		ids[r.ID], names[r.Name] = true, true
		for _, p := range r.Permissions {
			if p != PermissionsAllAccess && p != PermissionsAllRead && !slices.Contains(AllPermissions, p) {
				t.Fatalf("%s grants unknown permission %q", r.Name, p)
			}
		}
	}
	for _, r := range roles { // diagnose explains sign-ins: whoever reads them may run it
		if r.Grants(SignInsRead) != r.Grants(DiagnoseRead) {
			t.Fatalf("%s: signIns.read %v but diagnose.read %v", r.Name, r.Grants(SignInsRead), r.Grants(DiagnoseRead))
		}
	}
	if len(roles) != 12 {
		t.Fatalf("%d roles, want the 12 of the issue", len(roles))
	}
	seen := map[string]bool{}
	for _, r := range Routes {
		key := r.Method + " " + r.Pattern
		if seen[key] {
			t.Fatalf("route %s twice", key)
		}
		seen[key] = true
		// Only the caller's own resources need no permission.
		if self := r.Pattern == "/v1.0/me" || strings.HasPrefix(r.Pattern, "/v1.0/portcullis/me/"); r.Permission == "" && !self {
			t.Fatalf("route %s has no permission", key)
		}
		if r.Permission != "" && !slices.Contains(AllPermissions, r.Permission) {
			t.Fatalf("route %s needs unknown permission %q", key, r.Permission)
		}
	}
}

// TestEntraIntent spot-checks the grants the issue names.
func TestEntraIntent(t *testing.T) {
	cases := []struct {
		role string
		perm Permission
		want bool
	}{
		{ReportsReader, SignInsRead, true},
		{ReportsReader, LockoutUnlock, false},
		{CloudApplicationAdministrator, SignInsRead, true},
		{CloudApplicationAdministrator, LockoutUnlock, false},
		{CloudApplicationAdministrator, AppsWrite, true},
		{HelpdeskAdministrator, UsersResetPassword, true},
		{HelpdeskAdministrator, RolesAssign, false},
		{UserAdministrator, RolesAssign, false},
		{PrivilegedRoleAdministrator, RolesAssign, true},
		{GlobalAdministrator, RolesAssign, true},
		{GlobalReader, SignInsRead, true},
		{GlobalReader, UsersWrite, false},
		{GlobalReader, LockoutUnlock, false},
		{SecurityOperator, IPProtectionWrite, true},
		{SecurityReader, IPProtectionWrite, false},
	}
	for _, c := range cases {
		r, _ := RoleByID(c.role)
		if got := r.Grants(c.perm); got != c.want {
			t.Errorf("%s grants %s = %v, want %v", r.Name, c.perm, got, c.want)
		}
	}
}

func TestCanManageUser(t *testing.T) {
	cases := []struct {
		actor, target []string
		want          bool
	}{
		{[]string{HelpdeskAdministrator}, nil, true},
		{[]string{HelpdeskAdministrator}, []string{ReportsReader}, true},
		{[]string{HelpdeskAdministrator}, []string{GlobalAdministrator}, false},
		{[]string{HelpdeskAdministrator}, []string{UserAdministrator}, false},
		{[]string{HelpdeskAdministrator}, []string{HelpdeskAdministrator, SecurityReader}, false},
		{[]string{UserAdministrator}, []string{UserAdministrator}, true},
		{[]string{AuthenticationAdministrator}, []string{UserAdministrator}, false},
		{[]string{GlobalAdministrator}, []string{GlobalAdministrator}, true},
		// Security roles reach users only through confirmCompromised (their
		// permissions allow no other user action), never above themselves.
		{[]string{SecurityAdministrator}, nil, true},
		{[]string{SecurityOperator}, []string{SecurityAdministrator}, false},
		{[]string{SecurityOperator}, []string{GlobalAdministrator}, false},
		{[]string{SecurityReader}, nil, false},
		{nil, nil, false},
	}
	for _, c := range cases {
		if got := CanManageUser(c.actor, c.target); got != c.want {
			t.Errorf("CanManageUser(%v, %v) = %v, want %v", c.actor, c.target, got, c.want)
		}
	}
}
