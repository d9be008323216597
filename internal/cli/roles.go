package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

func newRolesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "roles", Short: "Directory roles and their assignments (offline, on the data directory)"}
	cmd.AddCommand(newRolesListCmd(), newRolesAssignCmd(true), newRolesAssignCmd(false))
	return cmd
}

type roleAssignmentOut struct {
	ID                string `json:"id"`
	Role              string `json:"role"`
	RoleDefinitionID  string `json:"roleDefinitionId"`
	PrincipalID       string `json:"principalId"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

func newRolesListCmd() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List role assignments", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteRolesList(cmd.Context(), cmd.OutOrStdout(), c) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				all, err := s.db.ListRoleAssignments(ctx, s.tenant.ID, "")
				if err != nil {
					return err
				}
				out := []roleAssignmentOut{}
				for _, a := range all {
					role, _ := rbac.RoleByID(a.RoleDefinitionID)
					o := roleAssignmentOut{ID: a.ID, Role: role.Name, RoleDefinitionID: a.RoleDefinitionID, PrincipalID: a.PrincipalID}
					if u, err := s.db.GetUser(ctx, s.tenant.ID, a.PrincipalID); err == nil {
						o.UserPrincipalName = u.UserPrincipalName
					}
					out = append(out, o)
				}
				return render(w, s.format, out, func(tw io.Writer) { roleAssignmentTable(tw, out) })
			})
		},
	}
}

// newRolesAssignCmd is `roles assign` (add) or `roles remove`.
func newRolesAssignCmd(add bool) *cobra.Command {
	use, short := "assign UPN|ID ROLE", "Give a user a directory role (name or template ID)"
	if !add {
		use, short = "remove UPN|ID ROLE", "Take a directory role from a user"
	}
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error {
					role, err := roleArg(args[1])
					if err != nil {
						return err
					}
					return remoteRoleChange(cmd.Context(), cmd.OutOrStdout(), c, args[0], role, add)
				})
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				u, err := findUser(ctx, s, args[0])
				if err != nil {
					return err
				}
				role, err := roleArg(args[1])
				if err != nil {
					return err
				}
				if add {
					err = assignRole(ctx, s, u, role)
				} else {
					err = removeRole(ctx, s, u, role)
				}
				if err != nil {
					return err
				}
				verb := map[bool]string{true: "now holds", false: "no longer holds"}[add]
				return render(w, s.format, map[string]any{"userPrincipalName": u.UserPrincipalName, "role": role.Name,
					"assigned": add}, func(tw io.Writer) { fmt.Fprintf(tw, "%s %s %s.\n", u.UserPrincipalName, verb, role.Name) })
			})
		},
	}
}

func assignRole(ctx context.Context, s session, u store.User, role rbac.Role) error {
	err := s.db.CreateRoleAssignment(ctx, store.RoleAssignment{ID: uuid.NewString(), TenantID: s.tenant.ID,
		PrincipalID: u.ID, RoleDefinitionID: role.ID, DirectoryScopeID: "/", CreatedAt: time.Now().UTC()})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%s already holds %s", u.UserPrincipalName, role.Name)
	}
	if err != nil {
		return err
	}
	return adminapi.RecordOffline(ctx, s.db, osUserName(), adminapi.OfflineChange{TenantID: s.tenant.ID,
		Category: "RoleManagement", Activity: "Add member to role", Operation: "Assign", TargetID: u.ID,
		TargetName: u.DisplayName, TargetType: "User", TargetUPN: u.UserPrincipalName, Property: "Role.DisplayName",
		NewValue: role.Name})
}

func removeRole(ctx context.Context, s session, u store.User, role rbac.Role) error {
	all, err := s.db.ListRoleAssignments(ctx, s.tenant.ID, "")
	if err != nil {
		return err
	}
	var mine *store.RoleAssignment
	others := 0
	for i, a := range all {
		switch {
		case a.PrincipalID == u.ID && a.RoleDefinitionID == role.ID:
			mine = &all[i]
		case a.RoleDefinitionID == rbac.GlobalAdministrator:
			others++
		}
	}
	if mine == nil {
		return fmt.Errorf("%s does not hold %s", u.UserPrincipalName, role.Name)
	}
	if role.ID == rbac.GlobalAdministrator && others == 0 {
		return fmt.Errorf("%s is the last Global Administrator: assign another one first", u.UserPrincipalName)
	}
	if err := s.db.DeleteRoleAssignment(ctx, s.tenant.ID, mine.ID); err != nil {
		return err
	}
	return adminapi.RecordOffline(ctx, s.db, osUserName(), adminapi.OfflineChange{TenantID: s.tenant.ID,
		Category: "RoleManagement", Activity: "Remove member from role", Operation: "Unassign", TargetID: u.ID,
		TargetName: u.DisplayName, TargetType: "User", TargetUPN: u.UserPrincipalName, Property: "Role.DisplayName",
		OldValue: role.Name})
}

// roleArg resolves a role given by display name or template ID.
func roleArg(arg string) (rbac.Role, error) {
	if role, ok := rbac.RoleByName(arg); ok {
		return role, nil
	}
	if role, ok := rbac.RoleByID(arg); ok {
		return role, nil
	}
	return rbac.Role{}, fmt.Errorf("%w: unknown role %q (see docs/roles.md for the names)", ErrUsage, arg)
}

// cmpOr returns err if set, else runs fn: the shape of "go remote or fail".
func cmpOr(err error, fn func() error) error {
	if err != nil {
		return err
	}
	return fn()
}
