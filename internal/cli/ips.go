package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// pickupNote tells the operator when a running server sees a change made here.
const pickupNote = "A running server picks this change up within 2 seconds (it polls the data directory)."

// feedProblem is a feed that failed to load; its addresses go unchecked.
type feedProblem struct {
	Feed  string `json:"feed"`
	Error string `json:"error"`
}

// ipSession is a lockout session whose guard sees the block records, named
// locations and (when loaded) the threat feeds.
type ipSession struct {
	lockoutSession
	feedProblems []feedProblem
}

// loadIPSources opens the configured feeds and GeoIP database and loads
// every feed once. A feed that fails is reported in the problems, not as an
// error: the other feeds still count.
func loadIPSources(ctx context.Context, cfg config.Config) (app.IPSources, []feedProblem, error) {
	src, err := app.OpenIPSources(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return src, nil, err
	}
	_ = src.Feeds.Refresh(ctx, "") // failures are in Status
	var problems []feedProblem
	for _, st := range src.Feeds.Status() {
		if st.LastError != "" {
			problems = append(problems, feedProblem{Feed: st.Name, Error: st.LastError})
		}
	}
	return src, problems, nil
}

// withIPGuard opens the data directory and builds a guard; with feeds, the
// configured threat feeds are loaded first.
func withIPGuard(cmd *cobra.Command, feeds bool, fn func(ctx context.Context, w io.Writer, is ipSession) error) error {
	return withLockout(cmd, false, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
		is := ipSession{lockoutSession: ls}
		var src app.IPSources
		if feeds {
			var err error
			if src, is.feedProblems, err = loadIPSources(ctx, ls.cfg); err != nil {
				return err
			}
		}
		g, err := app.NewGuard(ctx, ls.cfg, ls.db, nil, nil, src)
		if err != nil {
			return err
		}
		is.guard = g
		return fn(ctx, w, is)
	})
}

func newIPsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ips",
		Short: "Check, block and unblock client addresses (offline; a running server picks changes up within 2s)",
		Long: "Check a client address against the threat feeds, block records and named locations, and manage\n" +
			"administrator block records. Blocks are global (every tenant). " + pickupNote,
	}
	cmd.AddCommand(newIPsCheckCmd(), newIPsBlockCmd(), newIPsUnblockCmd(), newIPsListCmd())
	return cmd
}

// ipCheckOut is the guard's verdict with the address and a one-word summary.
type ipCheckOut struct {
	IP      string `json:"ip"`
	Verdict string `json:"verdict"`
	guard.IPVerdict
	// BlockRecords are the full records of the matched blocks (expiry etc.).
	BlockRecords []blockOut    `json:"blockRecords,omitempty"`
	FeedErrors   []feedProblem `json:"feedErrors,omitempty"`
}

func newIPsCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check IP",
		Short: "Show whether sign-ins from an address are refused (AADSTS50053) and every match",
		Long: "Load the threat feeds once, then show the tenant's verdict for IP and every feed, block record\n" +
			"and named location that matches it. A trusted named location always wins. A feed that fails to\n" +
			"load is reported but does not fail the command.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ip, err := parseIPArg(args[0])
			if err != nil {
				return err
			}
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteIPsCheck(cmd.Context(), cmd.OutOrStdout(), c, ip.String()) })
			}
			return withIPGuard(cmd, true, func(ctx context.Context, w io.Writer, is ipSession) error {
				return runIPsCheck(ctx, w, is, ip)
			})
		},
	}
}

func parseIPArg(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return ip, fmt.Errorf("%w: %q is not an IP address (want e.g. 203.0.113.7 or 2001:db8::1)", ErrUsage, s)
	}
	return ip.WithZone("").Unmap(), nil
}

func runIPsCheck(ctx context.Context, w io.Writer, is ipSession, ip netip.Addr) error {
	v := is.guard.CheckIP(is.tenant.ID, ip)
	if v.Matches == nil {
		v.Matches = []guard.IPMatch{}
	}
	out := ipCheckOut{IP: ip.String(), Verdict: v.Summary(), IPVerdict: v, FeedErrors: is.feedProblems}
	for _, m := range v.Matches {
		if m.Kind != "block" {
			continue
		}
		b, err := is.db.GetIPBlock(ctx, m.Name)
		if err != nil {
			return fmt.Errorf("block record %s: %w", m.Name, err)
		}
		out.BlockRecords = append(out.BlockRecords, toBlockOut(b, time.Now()))
	}
	return render(w, is.format, out, func(tw io.Writer) { ipCheckTable(tw, out) })
}

func ipCheckTable(tw io.Writer, out ipCheckOut) {
	fmt.Fprintf(tw, "IP:\t%s\n", out.IP)
	fmt.Fprintf(tw, "Verdict:\t%s\n", out.Verdict)
	blocked := yesNo(out.Blocked)
	if out.AutomaticOnly {
		blocked += " (automatic detection only: a device cookie of the attempted account may pass)"
	}
	fmt.Fprintf(tw, "Blocked:\t%s\n", blocked)
	fmt.Fprintf(tw, "Trusted location:\t%s\n", yesNo(out.Trusted))
	fmt.Fprintln(tw, "\nMatches:")
	if len(out.Matches) == 0 {
		fmt.Fprintln(tw, "  none")
	} else {
		fmt.Fprintln(tw, "KIND\tNAME\tDETAILS")
		for _, m := range out.Matches {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", matchKind(m.Kind), m.Name, matchDetails(m, out.BlockRecords))
		}
	}
	for _, p := range out.FeedErrors {
		fmt.Fprintf(tw, "\nWarning: feed %s failed to load, its addresses were not checked: %s\n", p.Feed, p.Error)
	}
}

func matchKind(kind string) string {
	switch kind {
	case "block":
		return "block record"
	case "location":
		return "named location"
	}
	return kind
}

func matchDetails(m guard.IPMatch, records []blockOut) string {
	switch m.Kind {
	case "feed":
		return fmt.Sprintf("category %s, action %s, prefix %s", m.Category, m.Action, m.Prefix)
	case "location":
		return "trusted " + yesNo(m.Trusted)
	case "block":
		s := fmt.Sprintf("origin %s", m.Origin)
		if m.Rule != "" {
			s += ", rule " + m.Rule
		}
		s += ", prefix " + m.Prefix
		for _, b := range records {
			if b.ID == m.Name {
				s += ", expires " + expiresText(b.ExpiresAt)
			}
		}
		return s + fmt.Sprintf(", report-only %s, reason %q", yesNo(m.Action == "report"), m.Reason)
	}
	return ""
}

// blockOut is a block record with its status at the time of listing.
type blockOut struct {
	store.IPBlock
	Status string `json:"status"` // active, expired, revoked, report-only
}

func toBlockOut(b store.IPBlock, now time.Time) blockOut {
	status := "active"
	switch {
	case !b.RevokedAt.IsZero():
		status = "revoked"
	case !b.ExpiresAt.IsZero() && !now.Before(b.ExpiresAt):
		status = "expired"
	case b.ReportOnly:
		status = "report-only"
	}
	return blockOut{IPBlock: b, Status: status}
}

func expiresText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return graphTime(t)
}

func blocksTable(tw io.Writer, blocks []blockOut) {
	fmt.Fprintln(tw, "ID\tPREFIX\tORIGIN\tRULE\tCREATED\tEXPIRES\tSTATUS\tREASON")
	for _, b := range blocks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.Prefix, b.Origin, dash(b.Rule),
			graphTime(b.CreatedAt), expiresText(b.ExpiresAt), b.Status, b.Reason)
	}
}

// parsePrefixArg accepts an address (a /32 or /128) or a CIDR prefix.
func parsePrefixArg(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%w: %q is not an IP address or CIDR prefix (want e.g. 203.0.113.7 or 203.0.113.0/24)",
		ErrUsage, s)
}

func newIPsBlockCmd() *cobra.Command {
	var reason string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "block IP|CIDR [--reason TEXT] [--expires DURATION]",
		Short: "Refuse sign-ins from an address or prefix (a running server applies it within 2s)",
		Long: "Create an administrator block record: sign-ins from the address or prefix are refused with\n" +
			"AADSTS50053 for every tenant, unless they come from a trusted named location. Without --expires\n" +
			"the block lasts until `portcullis ips unblock`. " + pickupNote,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix, err := parsePrefixArg(args[0])
			if err != nil {
				return err
			}
			if prefix.Bits() == 0 {
				return fmt.Errorf("%w: %s would block every address", ErrUsage, prefix)
			}
			var until time.Time
			if cmd.Flags().Changed("expires") {
				if expires <= 0 {
					return fmt.Errorf("%w: --expires must be a positive duration such as 24h, not %s", ErrUsage, expires)
				}
				until = time.Now().Add(expires)
			}
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error {
					return remoteIPsBlock(cmd.Context(), cmd.OutOrStdout(), c, prefix.String(), reason, until)
				})
			}
			return withIPGuard(cmd, false, func(ctx context.Context, w io.Writer, is ipSession) error {
				b, err := is.guard.BlockIP(ctx, prefix, reason, "cli:"+osUserName(), until)
				if err != nil {
					return fmt.Errorf("block %s: %w", prefix, err)
				}
				if err := auditOffline(ctx, is.session, adminapi.OfflineChange{Category: "IPProtection", Activity: "Block IP address",
					Operation: "Add", TargetID: b.ID, TargetName: b.Prefix, TargetType: "IPBlock", Reason: reason}); err != nil {
					return err
				}
				return renderBlock(w, is.format, toBlockOut(b, time.Now()), "Blocked "+b.Prefix+".")
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "blocked with the portcullis CLI", "why the address is blocked (audit trail)")
	cmd.Flags().DurationVar(&expires, "expires", 0, "lift the block after this long, e.g. 24h (default: until unblocked)")
	return cmd
}

func renderBlock(w io.Writer, format string, b blockOut, note string) error {
	return render(w, format, b, func(tw io.Writer) {
		blocksTable(tw, []blockOut{b})
		fmt.Fprintf(tw, "\n%s %s\n", note, pickupNote)
	})
}

func newIPsUnblockCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "unblock BLOCK-ID [--reason TEXT]",
		Short: "Revoke a block record (a running server applies it within 2s)",
		Long: "Revoke a block record, administrator's or automatic detection's, by its ID (see `portcullis ips list`).\n" +
			"The record is kept with who revoked it and why. " + pickupNote,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteIPsUnblock(cmd.Context(), cmd.OutOrStdout(), c, args[0], reason) })
			}
			return withIPGuard(cmd, false, func(ctx context.Context, w io.Writer, is ipSession) error {
				return runIPsUnblock(ctx, w, is, args[0], reason)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "unblocked with the portcullis CLI", "why the block is lifted (audit trail)")
	return cmd
}

func runIPsUnblock(ctx context.Context, w io.Writer, is ipSession, id, reason string) error {
	before, err := is.db.GetIPBlock(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no block record with ID %q (see portcullis ips list --all): %w", id, store.ErrNotFound)
	} else if err != nil {
		return err
	}
	note := "Unblocked " + before.Prefix + "."
	if !before.RevokedAt.IsZero() {
		note = fmt.Sprintf("Block %s was already revoked by %s; nothing changed.", id, before.RevokedBy)
	} else if err := is.guard.UnblockIP(ctx, id, "cli:"+osUserName(), reason); err != nil {
		return fmt.Errorf("unblock %s: %w", id, err)
	} else if err := auditOffline(ctx, is.session, adminapi.OfflineChange{Category: "IPProtection", Activity: "Unblock IP address",
		Operation: "Delete", TargetID: id, TargetName: before.Prefix, TargetType: "IPBlock", Reason: reason}); err != nil {
		return err
	}
	after, err := is.db.GetIPBlock(ctx, id)
	if err != nil {
		return err
	}
	return renderBlock(w, is.format, toBlockOut(after, time.Now()), note)
}

func newIPsListCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list [--all]",
		Short: "List active block records (--all: also expired, revoked and report-only ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteIPsList(cmd.Context(), cmd.OutOrStdout(), c, all) })
			}
			return withLockout(cmd, false, func(ctx context.Context, w io.Writer, ls lockoutSession) error {
				now := time.Now()
				blocks, err := ls.db.ListIPBlocks(ctx, !all, now)
				if err != nil {
					return err
				}
				out := make([]blockOut, len(blocks))
				for i, b := range blocks {
					out[i] = toBlockOut(b, now)
				}
				return render(w, ls.format, map[string]any{"value": out}, func(tw io.Writer) {
					if len(out) == 0 {
						fmt.Fprintln(tw, "No block records.")
						return
					}
					blocksTable(tw, out)
				})
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list expired, revoked and report-only records")
	return cmd
}
