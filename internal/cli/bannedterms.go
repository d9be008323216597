package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
)

// newBannedTermsCmd manages the tenant's custom banned password terms.
func newBannedTermsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "banned-terms",
		Short: "The tenant's custom banned password terms (matched case-insensitively after 0->o, 1->l, $->s, @->a)",
	}
	show := func(ctx context.Context, w io.Writer, s session) error {
		t, err := s.db.GetTenant(ctx, s.tenant.ID)
		if err != nil {
			return err
		}
		terms := append([]string{}, t.BannedPasswordTerms...)
		return render(w, s.format, map[string]any{"bannedPasswordTerms": terms}, func(tw io.Writer) {
			if len(terms) == 0 {
				fmt.Fprintln(tw, "No custom banned terms.")
			}
			for _, term := range terms {
				fmt.Fprintln(tw, term)
			}
		})
	}
	update := func(change func(current []string, args []string) []string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				next := change(s.tenant.BannedPasswordTerms, args)
				if err := s.dir.SetBannedPasswordTerms(ctx, s.tenant, next); err != nil {
					return err
				}
				if err := auditOffline(ctx, s, adminapi.OfflineChange{Category: "Policy", Activity: "Update banned password terms",
					Operation: "Update", TargetID: s.tenant.ID, TargetName: "Password protection", TargetType: "Policy",
					Property: "BannedPasswordTermCount", OldValue: fmt.Sprint(len(s.tenant.BannedPasswordTerms)),
					NewValue: fmt.Sprint(len(next))}); err != nil {
					return err
				}
				return show(ctx, w, s)
			})
		}
	}
	cmd.AddCommand(
		&cobra.Command{Use: "list", Short: "List the banned terms", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return withSession(cmd, show) }},
		&cobra.Command{Use: "add TERM...", Short: "Add terms (4 to 16 characters each)", Args: cobra.MinimumNArgs(1),
			RunE: update(func(cur, args []string) []string { return append(append([]string{}, cur...), args...) })},
		&cobra.Command{Use: "remove TERM...", Short: "Remove terms", Args: cobra.MinimumNArgs(1),
			RunE: update(func(cur, args []string) []string {
				drop := map[string]bool{}
				for _, a := range args {
					drop[a] = true
				}
				var keep []string
				for _, c := range cur {
					if !drop[c] {
						keep = append(keep, c)
					}
				}
				return keep
			})},
	)
	return cmd
}
