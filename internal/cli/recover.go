package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/rbac"
)

// newRecoverCmd is break-glass: whoever can write the data directory can
// give a tenant back a working Global Administrator. Everything it does is
// audited with the operating-system user who ran it.
func newRecoverCmd() *cobra.Command {
	var upn string
	cmd := &cobra.Command{
		Use:   "recover --upn UPN [--data DIR]",
		Short: "Break-glass: restore a Global Administrator who is locked out or lost their password",
		Long: `Restores UPN as a working Global Administrator, offline, on the data directory:
enables the account, sets a new generated password (printed once), clears its
smart lockout, revokes its existing sessions and tokens, and assigns the Global
Administrator role if it is missing. Needs write access to the data directory;
every step is recorded in the audit log with the operating-system user.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if upn == "" {
				return fmt.Errorf("%w: --upn is required", ErrUsage)
			}
			return withLockout(cmd, true, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				return recoverAdmin(ctx, w, ls, upn)
			})
		},
	}
	cmd.Flags().StringVar(&upn, "upn", "", "the administrator to restore")
	return cmd
}

func recoverAdmin(ctx context.Context, w io.Writer, ls lockoutSession, upn string) error {
	s := ls.session
	u, err := findUser(ctx, s, upn)
	if err != nil {
		return err
	}
	pw := app.GeneratePassword()
	if u, err = s.dir.SetPassword(ctx, u, pw, false); err != nil {
		return fmt.Errorf("set a new password: %w", err)
	}
	wasEnabled := u.AccountEnabled
	u.AccountEnabled = true
	u.SignInSessionsValidFrom = adminapi.RevocationTime(time.Now())
	u.UpdatedAt = time.Now().UTC()
	if err := s.db.UpdateUser(ctx, u); err != nil {
		return fmt.Errorf("enable the account and revoke its sessions: %w", err)
	}
	by := "cli:" + osUserName()
	cleared, err := ls.guard.Unlock(ctx, s.tenant.ID, u, by, "break-glass recovery")
	if err != nil {
		return fmt.Errorf("clear the lockout: %w", err)
	}
	roles, err := s.db.ListRoleAssignments(ctx, s.tenant.ID, u.ID)
	if err != nil {
		return err
	}
	hasGA := false
	for _, r := range roles {
		hasGA = hasGA || r.RoleDefinitionID == rbac.GlobalAdministrator
	}
	if !hasGA {
		ga, _ := rbac.RoleByID(rbac.GlobalAdministrator)
		if err := assignRole(ctx, s, u, ga); err != nil {
			return err
		}
	}
	if err := adminapi.RecordOffline(ctx, s.db, osUserName(), adminapi.OfflineChange{TenantID: s.tenant.ID,
		Category: "UserManagement", Activity: "Break-glass recovery", Operation: "Update", TargetID: u.ID,
		TargetName: u.DisplayName, TargetType: "User", TargetUPN: u.UserPrincipalName,
		Property: "AccountEnabled", OldValue: fmt.Sprint(wasEnabled), NewValue: "true",
		Reason: fmt.Sprintf("password reset, %d lockout(s) cleared, sessions revoked, Global Administrator ensured", cleared)}); err != nil {
		return err
	}
	out := map[string]any{"userPrincipalName": u.UserPrincipalName, "password": pw, "locksCleared": cleared,
		"globalAdministratorAssigned": !hasGA, "sessionsRevoked": true}
	return render(w, s.format, out, func(tw io.Writer) {
		fmt.Fprintf(tw, "Recovered %s as a Global Administrator.\n", u.UserPrincipalName)
		fmt.Fprintf(tw, "  New password (shown once): %s\n", pw)
		fmt.Fprintf(tw, "  Lockouts cleared: %d; earlier sessions and tokens revoked; the recovery is in the audit log.\n", cleared)
	})
}
