package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/diagnose"
)

func newDiagnoseCmd() *cobra.Command {
	var q diagnose.Query
	cmd := &cobra.Command{
		Use:   "diagnose --user UPN [--since 24h] [--correlation-id ID] [--request-id ID] [-o text|json]",
		Short: "Why can't this user sign in? The cause (lock, blocked address, both, other), evidence and what to do",
		Long: "Answers Entra's AADSTS50053 troubleshooting guide in one step: reads the user's failed sign-ins, the\n" +
			"lockout budgets and the verdict on every failing address; says whether the account is locked, the address\n" +
			"blocked (by which feed, rule or administrator, with the evidence), both, or something else, and whether it\n" +
			"is still in effect; flags password spray and targeted guessing; runs the guide's checks (trusted location,\n" +
			"threat feed, other suspicious activity); and lists what the user and you can do, as exact commands.\n" +
			"Works offline on the data directory, or through the API when logged in (roles that may read sign-in logs).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, _ := cmd.Flags().GetString("output")
			if format == "text" { // this command's name for the table format
				format = "table"
				_ = cmd.Flags().Set("output", format)
			}
			if format != "table" && format != "json" {
				return fmt.Errorf("%w: --output must be text or json, not %q", ErrUsage, format)
			}
			if q.User == "" && q.RequestID == "" && q.CorrelationID == "" {
				return fmt.Errorf("%w: name a user (--user UPN), a --request-id or a --correlation-id", ErrUsage)
			}
			rep, err := diagnosisFor(cmd, q)
			if err != nil {
				return err
			}
			return renderDiagnosis(cmd.OutOrStdout(), format, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.User, "user", "", "the user: UPN, mail or object ID (a name no user has is reported as such)")
	f.DurationVar(&q.Since, "since", 24*time.Hour, "how far back to look")
	f.StringVar(&q.CorrelationID, "correlation-id", "", "a sign-in's correlation ID (client-request-id)")
	f.StringVar(&q.RequestID, "request-id", "", "a sign-in's request ID (the ID on the error page)")
	return cmd
}

func renderDiagnosis(w io.Writer, format string, rep diagnose.Report) error {
	if format == "json" {
		return render(w, format, rep, nil)
	}
	rep.WriteText(w)
	return nil
}

// offlineDiagnose runs on the data directory, with the configured feeds
// loaded (at most 10 s) so the feed check sees what the server sees.
func offlineDiagnose(cmd *cobra.Command, q diagnose.Query) (diagnose.Report, error) {
	var rep diagnose.Report
	err := withSession(cmd, func(ctx context.Context, _ io.Writer, s session) error {
		src, err := app.OpenIPSources(s.cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		if src.Feeds != nil {
			loadCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_ = src.Feeds.Refresh(loadCtx, "") // a feed that fails to load is simply not matched
			cancel()
		}
		g, err := app.NewGuard(ctx, s.cfg, s.db, nil, nil, src)
		if err != nil {
			return err
		}
		q.TenantID = s.tenant.ID
		rep, err = diagnose.Run(ctx, diagnose.Deps{Store: s.db, Guard: g}, q)
		if errors.Is(err, diagnose.ErrNothingToDiagnose) {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		return err
	})
	return rep, err
}

// diagnosisFor runs q through the API when logged in, else offline.
func diagnosisFor(cmd *cobra.Command, q diagnose.Query) (diagnose.Report, error) {
	c, ok, err := remoteFor(cmd)
	switch {
	case err != nil:
		return diagnose.Report{}, err
	case ok:
		return remoteDiagnose(cmd.Context(), c, q)
	}
	return offlineDiagnose(cmd, q)
}

func remoteDiagnose(ctx context.Context, c *apiClient, q diagnose.Query) (diagnose.Report, error) {
	v := url.Values{"since": {q.Since.String()}}
	for key, val := range map[string]string{"user": q.User, "correlationId": q.CorrelationID, "requestId": q.RequestID} {
		if val != "" {
			v.Set(key, val)
		}
	}
	var rep diagnose.Report
	var raw json.RawMessage
	if err := c.call(ctx, "GET", "/v1.0/portcullis/diagnose?"+v.Encode(), nil, &raw); err != nil {
		return rep, err
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return rep, fmt.Errorf("the server's diagnosis: %w", err)
	}
	return rep, nil
}
