package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
)

// newBannedTermsCmd manages the tenant's custom banned password terms.
func newBannedTermsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "banned-terms",
		Short: "The tenant's custom banned password terms (matched case-insensitively after 0->o, 1->l, $->s, @->a)",
	}
	list := func(cmd *cobra.Command, _ []string) error {
		if c, ok, err := remoteFor(cmd); err != nil || ok {
			return cmpOr(err, func() error { return remoteBannedTermsList(cmd.Context(), cmd.OutOrStdout(), c) })
		}
		return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
			t, err := s.db.GetTenant(ctx, s.tenant.ID)
			if err != nil {
				return err
			}
			return bannedTermsOut(w, s.format, t.BannedPasswordTerms)
		})
	}
	update := func(change func(current, args []string) ([]string, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			apply := func(cur []string) ([]string, error) { return change(cur, args) }
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteBannedTermsUpdate(cmd.Context(), cmd.OutOrStdout(), c, apply) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				before, after, err := s.dir.UpdateBannedPasswordTerms(ctx, s.tenant, apply)
				if err != nil {
					return err
				}
				added, removed := adminapi.TermsDiff(before, after)
				if len(added)+len(removed) > 0 {
					if err := auditOffline(ctx, s, adminapi.OfflineChange{Category: "Policy", Activity: "Update banned password terms",
						Operation: "Update", TargetID: s.tenant.ID, TargetName: "Password protection", TargetType: "Policy",
						Property: "BannedPasswordTerms", OldValue: "removed: " + strings.Join(removed, ", "),
						NewValue: "added: " + strings.Join(added, ", ")}); err != nil {
						return err
					}
				}
				return bannedTermsOut(w, s.format, after)
			})
		}
	}
	cmd.AddCommand(
		&cobra.Command{Use: "list", Short: "List the banned terms", Args: cobra.NoArgs, RunE: list},
		&cobra.Command{Use: "add TERM...", Short: "Add terms (4 to 16 characters each)", Args: cobra.MinimumNArgs(1),
			RunE: update(func(cur, args []string) ([]string, error) { return append(cur, args...), nil })},
		&cobra.Command{Use: "remove TERM...", Short: "Remove terms", Args: cobra.MinimumNArgs(1),
			RunE: update(func(cur, args []string) ([]string, error) {
				for _, a := range args {
					if !containsFold(cur, a) {
						return nil, fmt.Errorf("%q is not a banned term (nothing was changed)", a)
					}
				}
				var keep []string
				for _, c := range cur {
					if !containsFold(args, c) {
						keep = append(keep, c)
					}
				}
				return keep, nil
			})},
	)
	return cmd
}

// containsFold reports whether list holds s, ignoring case: terms match
// passwords case-insensitively, so "Contoso" names the term "contoso".
func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.TrimSpace(v), s) {
			return true
		}
	}
	return false
}
