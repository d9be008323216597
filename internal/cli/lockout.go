package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// lockoutSession is a user session plus what lockout commands need: the
// configuration, the SQLite store and (for per-user commands) the guard.
type lockoutSession struct {
	session
	guard *guard.Guard // nil unless asked for
}

// withLockout is withSession that can also build the lockout gate
// (offline: a one-worker hash pool, no event bus, no feeds).
func withLockout(cmd *cobra.Command, withGuard bool, fn func(ctx context.Context, w io.Writer, ls lockoutSession) error) error {
	return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
		ls := lockoutSession{session: s}
		if withGuard {
			var err error
			if ls.guard, err = app.NewGuard(ctx, s.cfg, s.db, nil, nil, app.IPSources{}); err != nil {
				return err
			}
		}
		return fn(ctx, w, ls)
	})
}

func newLockoutCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lockout", Short: "Smart lockout (offline, on the data directory)"}
	policy := &cobra.Command{Use: "policy", Short: "Show or change the tenant's smart lockout policy"}
	policy.AddCommand(newLockoutPolicyShowCmd(), newLockoutPolicySetCmd())
	cmd.AddCommand(policy)
	return cmd
}

// policyOut is a lockout policy with config's field names and its source.
type policyOut struct {
	Threshold             int    `json:"threshold"`
	Duration              string `json:"duration"`
	MaxDuration           string `json:"max_duration"`
	ObservationWindow     string `json:"observation_window"`
	FamiliarNetworkDays   int    `json:"familiar_network_days"`
	DeviceCookieThreshold int    `json:"device_cookie_threshold"`
	Source                string `json:"source"`
}

// Policy sources.
const (
	policyFromTenant = "tenant"
	policyFromConfig = "config"
)

// effectivePolicy is the tenant's stored override, or the configured defaults.
func effectivePolicy(ctx context.Context, ls lockoutSession) (store.LockoutPolicy, string, error) {
	p, err := ls.db.GetLockoutPolicy(ctx, ls.tenant.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return app.LockoutDefaults(ls.cfg), policyFromConfig, nil
	case err != nil:
		return p, "", fmt.Errorf("lockout policy: %w", err)
	}
	return p, policyFromTenant, nil
}

func renderPolicy(w io.Writer, format string, p store.LockoutPolicy, source string) error {
	out := policyOut{Threshold: p.Threshold, Duration: p.Duration.String(), MaxDuration: p.MaxDuration.String(),
		ObservationWindow: p.ObservationWindow.String(), FamiliarNetworkDays: p.FamiliarNetworkDays,
		DeviceCookieThreshold: p.DeviceCookieThreshold, Source: source}
	return render(w, format, out, func(tw io.Writer) {
		fmt.Fprintf(tw, "Threshold:\t%d wrong passwords\n", out.Threshold)
		fmt.Fprintf(tw, "Duration:\t%s (doubling per consecutive lockout)\n", out.Duration)
		fmt.Fprintf(tw, "Max duration:\t%s\n", out.MaxDuration)
		fmt.Fprintf(tw, "Observation window:\t%s\n", out.ObservationWindow)
		fmt.Fprintf(tw, "Familiar network days:\t%d\n", out.FamiliarNetworkDays)
		fmt.Fprintf(tw, "Device cookie threshold:\t%d\n", out.DeviceCookieThreshold)
		src := "tenant override"
		if source == policyFromConfig {
			src = "configuration defaults"
		}
		fmt.Fprintf(tw, "Source:\t%s\n", src)
	})
}

func newLockoutPolicyShowCmd() *cobra.Command {
	return &cobra.Command{
		Use: "show", Short: "Show the tenant's effective lockout policy and where it comes from", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remotePolicyShow(cmd.Context(), cmd.OutOrStdout(), c) })
			}
			return withLockout(cmd, false, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				p, source, err := effectivePolicy(ctx, ls)
				if err != nil {
					return err
				}
				return renderPolicy(w, ls.format, p, source)
			})
		},
	}
}

func newLockoutPolicySetCmd() *cobra.Command {
	var want store.LockoutPolicy
	cmd := &cobra.Command{
		Use: "set [--threshold N] [--duration D] [--max-duration D] [--observation-window D] " +
			"[--familiar-network-days N] [--device-cookie-threshold N]",
		Short: "Override the tenant's lockout policy (flags not given keep their current value)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remotePolicySet(cmd.Context(), cmd.OutOrStdout(), c, cmd, want) })
			}
			return withLockout(cmd, false, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				var old store.LockoutPolicy
				p, err := ls.db.UpdateLockoutPolicy(ctx, ls.tenant.ID, func(cur store.LockoutPolicy, found bool) (store.LockoutPolicy, error) {
					if !found {
						cur = app.LockoutDefaults(ls.cfg)
					}
					old = cur
					applyPolicyFlags(cmd, &cur, want)
					if err := guard.ValidatePolicy(cur); err != nil {
						return cur, fmt.Errorf("invalid lockout policy, nothing changed:\n%w", err)
					}
					return cur, nil
				})
				if err != nil {
					return err
				}
				if err := auditOffline(ctx, ls.session, adminapi.OfflineChange{Category: "Policy", Activity: "Update lockout policy",
					Operation: "Update", TargetID: ls.tenant.ID, TargetName: "Smart lockout policy", TargetType: "Policy",
					Property: "Policy", OldValue: fmt.Sprintf("%+v", old), NewValue: fmt.Sprintf("%+v", p)}); err != nil {
					return err
				}
				return renderPolicy(w, ls.format, p, policyFromTenant)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&want.Threshold, "threshold", 0, "wrong passwords a budget allows before it locks (1-1000)")
	f.DurationVar(&want.Duration, "duration", 0, "first lock's length, doubled per consecutive lockout (>= 1s)")
	f.DurationVar(&want.MaxDuration, "max-duration", 0, "cap of the doubling (>= duration)")
	f.DurationVar(&want.ObservationWindow, "observation-window", 0, "failures older than this no longer count (>= 1s)")
	f.IntVar(&want.FamiliarNetworkDays, "familiar-network-days", 0, "days a network stays familiar after a success (0-365)")
	f.IntVar(&want.DeviceCookieThreshold, "device-cookie-threshold", 0, "each device cookie's own budget (1-1000)")
	return cmd
}

// applyPolicyFlags copies into p the fields whose flags were given.
func applyPolicyFlags(cmd *cobra.Command, p *store.LockoutPolicy, want store.LockoutPolicy) {
	f := cmd.Flags()
	if f.Changed("threshold") {
		p.Threshold = want.Threshold
	}
	if f.Changed("duration") {
		p.Duration = want.Duration
	}
	if f.Changed("max-duration") {
		p.MaxDuration = want.MaxDuration
	}
	if f.Changed("observation-window") {
		p.ObservationWindow = want.ObservationWindow
	}
	if f.Changed("familiar-network-days") {
		p.FamiliarNetworkDays = want.FamiliarNetworkDays
	}
	if f.Changed("device-cookie-threshold") {
		p.DeviceCookieThreshold = want.DeviceCookieThreshold
	}
}

// lockoutStatusOut is guard.Status with the user's names.
type lockoutStatusOut struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	guard.Status
}

func newUsersLockoutStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use: "lockout-status UPN|ID", Short: "Show a user's smart lockout budgets and lock history", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteLockoutStatus(cmd.Context(), cmd.OutOrStdout(), c, args[0]) })
			}
			return withLockout(cmd, true, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				u, err := findUser(ctx, ls.session, args[0])
				if err != nil {
					return err
				}
				st, err := ls.guard.Status(ctx, ls.tenant.ID, u.ID)
				if err != nil {
					return fmt.Errorf("lockout status of %s: %w", u.UserPrincipalName, err)
				}
				if st.Budgets == nil {
					st.Budgets = []guard.BudgetStatus{}
				}
				if st.Lockouts == nil {
					st.Lockouts = []store.Lockout{}
				}
				out := lockoutStatusOut{ID: u.ID, UserPrincipalName: u.UserPrincipalName, Status: st}
				return render(w, ls.format, out, func(tw io.Writer) { lockoutStatusTable(tw, out) })
			})
		},
	}
}

func lockoutStatusTable(tw io.Writer, s lockoutStatusOut) {
	fmt.Fprintf(tw, "User:\t%s (%s)\n", s.UserPrincipalName, s.ID)
	fmt.Fprintf(tw, "Locked now:\t%s\n", yesNo(s.Locked))
	fmt.Fprintln(tw, "\nBudgets:")
	if len(s.Budgets) == 0 {
		fmt.Fprintln(tw, "  none (no wrong passwords recorded)")
	} else {
		fmt.Fprintln(tw, "CLASS\tSCOPE\tFAILURES\tLOCKED UNTIL\tCONSECUTIVE LOCKOUTS\tUPDATED")
		for _, b := range s.Budgets {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%d\t%s\n", b.Class, dash(b.Scope), b.Failures, b.Threshold,
				lockedUntil(b), b.Lockouts, dash(graphTime(b.UpdatedAt)))
		}
	}
	fmt.Fprintln(tw, "\nLock history (newest first):")
	if len(s.Lockouts) == 0 {
		fmt.Fprintln(tw, "  none")
		return
	}
	fmt.Fprintln(tw, "STARTED\tEXPIRES\tCLASS\tSCOPE\tFAILURES\tCLEARED")
	for _, l := range s.Lockouts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", graphTime(l.StartedAt), graphTime(l.ExpiresAt), l.Class,
			dash(l.Scope), l.FailureCount, clearedText(l))
	}
}

func lockedUntil(b guard.BudgetStatus) string {
	switch {
	case b.LockedUntil.IsZero():
		return "-"
	case b.Locked:
		return graphTime(b.LockedUntil) + " (locked)"
	}
	return graphTime(b.LockedUntil) + " (expired)"
}

func clearedText(l store.Lockout) string {
	if l.ClearedAt.IsZero() {
		return "-"
	}
	s := fmt.Sprintf("%s by %s (%s)", graphTime(l.ClearedAt), dash(l.ClearedBy), dash(l.ClearedHow))
	if l.ClearReason != "" {
		s += ": " + l.ClearReason
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newUsersUnlockCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use: "unlock UPN|ID [--reason TEXT]", Short: "Clear a user's smart lockout (every budget, escalation included)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteUnlock(cmd.Context(), cmd.OutOrStdout(), c, args[0], reason) })
			}
			return withLockout(cmd, true, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				u, err := findUser(ctx, ls.session, args[0])
				if err != nil {
					return err
				}
				by := "cli:" + osUserName()
				n, err := ls.guard.Unlock(ctx, ls.tenant.ID, u, by, reason)
				if err != nil {
					return fmt.Errorf("unlock %s: %w", u.UserPrincipalName, err)
				}
				if err := adminapi.RecordOffline(ctx, ls.db, osUserName(), adminapi.OfflineChange{TenantID: ls.tenant.ID,
					Category: "UserManagement", Activity: "Unlock user", Operation: "Update", TargetID: u.ID,
					TargetName: u.DisplayName, TargetType: "User", TargetUPN: u.UserPrincipalName,
					Property: "LockoutBudgetsCleared", NewValue: fmt.Sprint(n), Reason: reason}); err != nil {
					return err
				}
				out := map[string]any{"id": u.ID, "userPrincipalName": u.UserPrincipalName, "cleared": n,
					"by": by, "reason": reason, "at": graphTime(time.Now())}
				return render(w, ls.format, out, func(tw io.Writer) {
					fmt.Fprintf(tw, "Unlocked %s: %d active %s cleared, all lockout budgets reset.\n",
						u.UserPrincipalName, n, plural(n, "lock", "locks"))
				})
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "unlocked with the portcullis CLI", "why the account is unlocked (audit log)")
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// osUserName names who runs the CLI, for the audit trail.
func osUserName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return name
	}
	return "unknown"
}
