package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/diagnose"
	"github.com/portcullis-idp/portcullis/internal/odata"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

func newSignInsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "signins", Short: "The sign-in log (offline, or through the API when logged in)"}
	cmd.AddCommand(newSignInsListCmd(), newSignInsShowCmd(), newSignInsExportCmd(), newSignInsSummaryCmd())
	return cmd
}

// signInFlags are the list filters, turned into one $filter.
type signInFlags struct {
	user, status, ip, app, until string
	errorCode                    int
	since                        time.Duration
	top                          int
}

func (f signInFlags) filter(now time.Time) (string, error) {
	var c []string
	if f.since > 0 {
		c = append(c, "createdDateTime ge "+now.Add(-f.since).UTC().Format(time.RFC3339))
	}
	if f.until != "" {
		at, err := time.Parse(time.RFC3339, f.until)
		if err != nil {
			return "", fmt.Errorf("%w: --until must be an RFC 3339 time such as 2026-11-24T10:00:00Z", ErrUsage)
		}
		c = append(c, "createdDateTime le "+at.UTC().Format(time.RFC3339))
	}
	switch {
	case f.user == "":
	case strings.Contains(f.user, "@"):
		c = append(c, "userPrincipalName eq "+odataString(f.user))
	default:
		c = append(c, "userId eq "+odataString(f.user))
	}
	if f.errorCode >= 0 {
		c = append(c, "status/errorCode eq "+strconv.Itoa(f.errorCode))
	}
	switch f.status {
	case "":
	case "success":
		c = append(c, "status/errorCode eq 0")
	case "failure":
		c = append(c, "status/errorCode ne 0")
	default:
		return "", fmt.Errorf("%w: --status must be success or failure", ErrUsage)
	}
	if prefix, ok := strings.CutSuffix(f.ip, "*"); ok {
		c = append(c, "startswith(ipAddress, "+odataString(prefix)+")")
	} else if f.ip != "" {
		c = append(c, "ipAddress eq "+odataString(f.ip))
	}
	if f.app != "" {
		c = append(c, "(appId eq "+odataString(f.app)+" or appDisplayName eq "+odataString(f.app)+")")
	}
	return strings.Join(c, " and "), nil
}

func newSignInsListCmd() *cobra.Command {
	var f signInFlags
	cmd := &cobra.Command{
		Use: "list [--user U] [--error-code N] [--status success|failure] [--ip P|PREFIX*] [--app A] " +
			"[--since 24h] [--until T] [--top N] [-o table|json|csv]",
		Short:       "List sign-ins, newest first",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{csvOutput: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if f.top < 1 || f.top > 1000 {
				return fmt.Errorf("%w: --top must be from 1 to 1000", ErrUsage)
			}
			filter, err := f.filter(time.Now())
			if err != nil {
				return err
			}
			var records []json.RawMessage
			if c, ok, err := remoteFor(cmd); err != nil {
				return err
			} else if ok {
				records, err = remoteSignIns(cmd.Context(), c, filter, f.top)
				if err != nil {
					return err
				}
			} else if err := withSession(cmd, func(ctx context.Context, _ io.Writer, s session) error {
				records, err = offlineSignIns(ctx, s, filter, f.top)
				return err
			}); err != nil {
				return err
			}
			return renderSignIns(cmd.OutOrStdout(), format, records)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.user, "user", "", "user principal name or object ID")
	fl.IntVar(&f.errorCode, "error-code", -1, "AADSTS error code, for example 50053 (0 = successes)")
	fl.StringVar(&f.status, "status", "", "success or failure")
	fl.StringVar(&f.ip, "ip", "", "client address, or a prefix ending in * (203.0.113.*)")
	fl.StringVar(&f.app, "app", "", "application (client) ID or display name")
	fl.DurationVar(&f.since, "since", 24*time.Hour, "how far back to look (0 = everything)")
	fl.StringVar(&f.until, "until", "", "only sign-ins up to this RFC 3339 time")
	fl.IntVar(&f.top, "top", 100, "at most this many records (1-1000)")
	return cmd
}

func offlineSignIns(ctx context.Context, s session, filter string, top int) ([]json.RawMessage, error) {
	var where odata.Expr
	if filter != "" {
		var err error
		if where, err = odata.Parse(filter, store.SignInSchema); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
	}
	rows, err := s.db.FindSignIns(ctx, store.SignInFilter{TenantID: s.tenant.ID, Where: where, Limit: top})
	if err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(rows))
	for i, r := range rows {
		out[i] = r.Body
	}
	return out, nil
}

func remoteSignIns(ctx context.Context, c *apiClient, filter string, top int) ([]json.RawMessage, error) {
	path := "/v1.0/auditLogs/signIns?$top=" + strconv.Itoa(top)
	if filter != "" {
		path += "&$filter=" + url.QueryEscape(filter)
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	err := c.call(ctx, "GET", path, nil, &page)
	return page.Value, err
}

// signInSummary is what the table and CSV show of a record.
type signInSummary struct {
	ID                string `json:"id"`
	CreatedDateTime   string `json:"createdDateTime"`
	UserPrincipalName string `json:"userPrincipalName"`
	AppDisplayName    string `json:"appDisplayName"`
	IPAddress         string `json:"ipAddress"`
	CorrelationID     string `json:"correlationId"`
	Location          struct {
		City            string `json:"city"`
		CountryOrRegion string `json:"countryOrRegion"`
	} `json:"location"`
	Status struct {
		ErrorCode     int    `json:"errorCode"`
		FailureReason string `json:"failureReason"`
	} `json:"status"`
	ConditionalAccessStatus string `json:"conditionalAccessStatus"`
}

func (s signInSummary) result() string {
	if s.Status.ErrorCode == 0 {
		return "success"
	}
	return "failure"
}

func renderSignIns(w io.Writer, format string, records []json.RawMessage) error {
	if records == nil {
		records = []json.RawMessage{}
	}
	if format == "json" {
		return render(w, format, map[string]any{"value": records}, nil)
	}
	sums := make([]signInSummary, 0, len(records))
	for _, r := range records {
		var s signInSummary
		if err := json.Unmarshal(r, &s); err != nil {
			return fmt.Errorf("a sign-in record is not valid JSON: %w", err)
		}
		sums = append(sums, s)
	}
	if format == "csv" {
		return writeSignInCSV(w, records)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tUSER\tAPPLICATION\tSTATUS\tIP ADDRESS\tLOCATION\tERROR\tFAILURE REASON")
	for _, s := range sums {
		loc := strings.Trim(s.Location.City+", "+s.Location.CountryOrRegion, ", ")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.CreatedDateTime, s.UserPrincipalName, s.AppDisplayName,
			s.result(), s.IPAddress, loc, s.Status.ErrorCode, truncateText(s.Status.FailureReason, 60))
	}
	if len(sums) == 0 {
		fmt.Fprintln(tw, "No sign-ins match.")
	}
	return tw.Flush()
}

func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func newSignInsShowCmd() *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show every field of one sign-in record", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body []byte
			if c, ok, err := remoteFor(cmd); err != nil {
				return err
			} else if ok {
				var raw json.RawMessage
				if err := c.call(cmd.Context(), "GET", "/v1.0/auditLogs/signIns/"+url.PathEscape(args[0]), nil, &raw); err != nil {
					return err
				}
				body = raw
			} else if err := withSession(cmd, func(ctx context.Context, _ io.Writer, s session) error {
				row, err := s.db.GetSignIn(ctx, s.tenant.ID, args[0])
				if err != nil {
					return fmt.Errorf("sign-in %q: %w", args[0], err)
				}
				body = row.Body
				return nil
			}); err != nil {
				return err
			}
			format, _ := cmd.Flags().GetString("output")
			if format == "json" {
				_, err := cmd.OutOrStdout().Write(append(body, '\n'))
				return err
			}
			if err := showSignIn(cmd.OutOrStdout(), body); err != nil {
				return err
			}
			return diagnoseFailedSignIn(cmd, args[0], body)
		},
	}
}

// diagnoseFailedSignIn adds the diagnosis of the record's user, as of now,
// under a failed record. A caller without the right to diagnose, or a
// record of no one, gets a line saying so instead.
func diagnoseFailedSignIn(cmd *cobra.Command, id string, body []byte) error {
	var rec struct {
		Status struct{ ErrorCode int } `json:"status"`
	}
	if json.Unmarshal(body, &rec) != nil || rec.Status.ErrorCode == 0 {
		return nil
	}
	w := cmd.OutOrStdout()
	fmt.Fprintln(w, "\nDiagnose")
	fmt.Fprintln(w, "--------")
	rep, err := diagnosisFor(cmd, diagnose.Query{RequestID: id, Since: 24 * time.Hour})
	if err != nil {
		fmt.Fprintf(w, "No diagnosis: %v\n", err)
		return nil
	}
	rep.WriteText(w)
	return nil
}

// showSignIn prints every field of a record, nested ones as dotted names,
// in the record's order.
func showSignIn(w io.Writer, body []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				walk(strings.TrimPrefix(prefix+"."+k, "."), x[k])
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", prefix, i), e)
			}
		case nil:
		default:
			if s := fmt.Sprint(x); s != "" {
				fmt.Fprintf(tw, "%s:\t%s\n", prefix, s)
			}
		}
	}
	walk("", v)
	return tw.Flush()
}

func writeSignInCSV(w io.Writer, records []json.RawMessage) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(signinlog.CSVHeader)
	for _, r := range records {
		row, err := signinlog.CSVRow(r)
		if err != nil {
			return fmt.Errorf("a sign-in record is not valid JSON: %w", err)
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func newSignInsExportCmd() *cobra.Command {
	var f signInFlags
	var format string
	cmd := &cobra.Command{
		Use:   "export --format csv|json [--user U] [--error-code N] [--status S] [--ip P] [--app A] [--since D] [--until T]",
		Short: "Write every matching sign-in (no row limit) to standard output as CSV or a JSON array",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "json" {
				return fmt.Errorf("%w: --format must be csv or json", ErrUsage)
			}
			filter, err := f.filter(time.Now())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return c.download(cmd.Context(), w, signInExportPath(format, filter)) })
			}
			return withSession(cmd, func(ctx context.Context, _ io.Writer, s session) error {
				return exportOffline(ctx, w, s, format, filter)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "csv", "csv or json")
	fl.StringVar(&f.user, "user", "", "user principal name or object ID")
	fl.IntVar(&f.errorCode, "error-code", -1, "AADSTS error code (0 = successes)")
	fl.StringVar(&f.status, "status", "", "success or failure")
	fl.StringVar(&f.ip, "ip", "", "client address, or a prefix ending in *")
	fl.StringVar(&f.app, "app", "", "application (client) ID or display name")
	fl.DurationVar(&f.since, "since", 0, "how far back to look (0 = everything kept)")
	fl.StringVar(&f.until, "until", "", "only sign-ins up to this RFC 3339 time")
	return cmd
}

func signInExportPath(format, filter string) string {
	path := "/v1.0/portcullis/signIns/export?format=" + format
	if filter != "" {
		path += "&$filter=" + url.QueryEscape(filter)
	}
	return path
}

// exportOffline streams from the data directory (see signinlog.Export).
func exportOffline(ctx context.Context, w io.Writer, s session, format, filter string) error {
	var where odata.Expr
	if filter != "" {
		var err error
		if where, err = odata.Parse(filter, store.SignInSchema); err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
	}
	return signinlog.Export(ctx, s.db, store.SignInFilter{TenantID: s.tenant.ID, Where: where}, format, w)
}
