package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/signinlog"
)

// summaryFlags are signins summary's flags.
type summaryFlags struct {
	since, interval time.Duration
	until           string
	top             int
}

// span is the flags as a time span (until defaults to now).
func (f summaryFlags) span() (time.Time, time.Time, error) {
	until := time.Now().UTC()
	if f.until != "" {
		t, err := time.Parse(time.RFC3339, f.until)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: --until must be an RFC 3339 time such as 2026-11-24T10:00:00Z", ErrUsage)
		}
		until = t.UTC()
	}
	if signinlog.FormatInterval(f.interval) == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: --interval must be whole minutes or hours up to 24h, such as 15m or 1h", ErrUsage)
	}
	return until.Add(-f.since), until, nil
}

func newSignInsSummaryCmd() *cobra.Command {
	var f summaryFlags
	cmd := &cobra.Command{
		Use:   "summary [--since 24h] [--until T] [--interval 1h] [--top 5] [-o table|json]",
		Short: "Sign-ins, failures and interruptions per interval, the error codes, and the addresses failing most",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			since, until, err := f.span()
			if err != nil {
				return err
			}
			var sum signinlog.Summary
			if c, ok, err := remoteFor(cmd); err != nil {
				return err
			} else if ok {
				q := url.Values{"since": {since.Format(time.RFC3339Nano)}, "until": {until.Format(time.RFC3339Nano)},
					"interval": {signinlog.FormatInterval(f.interval)}, "top": {strconv.Itoa(f.top)}}
				if err := c.call(cmd.Context(), "GET", "/v1.0/portcullis/signIns/summary?"+q.Encode(), nil, &sum); err != nil {
					return err
				}
				return renderSummary(cmd.OutOrStdout(), c.format, sum)
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				q, err := signinlog.SummaryQuery(s.tenant.ID, since, until, f.interval, f.top)
				if err != nil {
					return fmt.Errorf("%w: %v", ErrUsage, err)
				}
				agg, err := s.db.SummarizeSignIns(ctx, q)
				if err != nil {
					return err
				}
				return renderSummary(w, s.format, signinlog.NewSummary(q, agg, time.Now()))
			})
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.since, "since", 24*time.Hour, "how far back from --until (at most 31 days)")
	fl.StringVar(&f.until, "until", "", "the span's end, an RFC 3339 time (default now)")
	fl.DurationVar(&f.interval, "interval", time.Hour, "the width of each line (whole minutes or hours, at most 24h)")
	fl.IntVar(&f.top, "top", 5, "how many failing addresses to list (0-100)")
	return cmd
}

func renderSummary(w io.Writer, format string, sum signinlog.Summary) error {
	if format == "json" {
		return render(w, format, sum, nil)
	}
	return sum.WriteText(w)
}
