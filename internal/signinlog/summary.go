package signinlog

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Bounds of a summary: the work is one scan of the span, so the span is
// bounded, and the answer small.
const (
	MaxSummarySpan    = 31 * 24 * time.Hour
	MaxSummaryBuckets = 1000
	MaxSummaryTop     = 100
)

// Summary is a span of the log aggregated, as the API answers it
// (GET /v1.0/portcullis/signIns/summary) and the CLI prints it.
type Summary struct {
	AsOf                time.Time         `json:"asOf"`
	Since               time.Time         `json:"since"`
	Until               time.Time         `json:"until"`
	Interval            string            `json:"interval"`
	Total               int64             `json:"total"`
	Failures            int64             `json:"failures"`
	Interrupted         int64             `json:"interrupted"`
	Intervals           []SummaryInterval `json:"intervals"`
	ErrorCodes          []SummaryCode     `json:"errorCodes"`
	TopFailingAddresses []SummaryAddress  `json:"topFailingAddresses"`
}

// SummaryInterval is one interval's counts.
type SummaryInterval struct {
	Start       time.Time `json:"start"`
	Total       int64     `json:"total"`
	Failures    int64     `json:"failures"`
	Interrupted int64     `json:"interrupted"`
}

// SummaryCode is one error code's count (0 is success).
type SummaryCode struct {
	ErrorCode int    `json:"errorCode"`
	ErrorName string `json:"errorName,omitempty"`
	Count     int64  `json:"count"`
}

// SummaryAddress is one failing address: its failures and the distinct
// user names they tried.
type SummaryAddress struct {
	IPAddress string `json:"ipAddress"`
	Failures  int64  `json:"failures"`
	Accounts  int64  `json:"accounts"`
}

// SummaryQuery is the store query for a span: checked against the
// bounds as asked, then widened to whole intervals (counted from Go's zero
// time in UTC, so hours and days fall on the clock's), so every asker of
// about the same span shares one summary; failures are counted as the
// log's Status filter counts them.
func SummaryQuery(tenantID string, since, until time.Time, interval time.Duration, top int) (store.SignInSummaryQuery, error) {
	q := store.SignInSummaryQuery{TenantID: tenantID, Bucket: interval, TopAddresses: top, Interrupted: InterruptedCodes}
	span := until.Sub(since)
	switch {
	case interval <= 0:
		return q, errors.New("the interval must be positive")
	case span <= 0:
		return q, errors.New("since must be before until")
	case span > MaxSummarySpan:
		return q, errors.New("a summary spans at most 31 days")
	case span/interval > MaxSummaryBuckets:
		return q, errors.New("at most 1,000 intervals: choose a longer interval")
	case top < 0 || top > MaxSummaryTop:
		return q, errors.New("top must be a whole number from 0 to 100")
	}
	// Widening adds at most an interval at each end: the store allows it.
	q.Since = since.UTC().Truncate(interval)
	q.Until = until.UTC().Truncate(interval)
	if !q.Until.Equal(until.UTC()) {
		q.Until = q.Until.Add(interval)
	}
	return q, nil
}

// ParseInterval reads the ISO 8601 durations a summary accepts: PTnM,
// PTnH (up to a day) and P1D.
func ParseInterval(s string) (time.Duration, bool) {
	if s == "P1D" {
		return 24 * time.Hour, true
	}
	rest, ok := strings.CutPrefix(s, "PT")
	if !ok || len(rest) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:len(rest)-1])
	if err != nil || n <= 0 {
		return 0, false
	}
	switch rest[len(rest)-1] {
	case 'M':
		if n <= 24*60 {
			return time.Duration(n) * time.Minute, true
		}
	case 'H':
		if n <= 24 {
			return time.Duration(n) * time.Hour, true
		}
	}
	return 0, false
}

// FormatInterval writes d as ParseInterval reads it ("" if it cannot).
func FormatInterval(d time.Duration) string {
	switch {
	case d == 24*time.Hour:
		return "P1D"
	case d > 0 && d%time.Hour == 0 && d <= 24*time.Hour:
		return fmt.Sprintf("PT%dH", d/time.Hour)
	case d > 0 && d%time.Minute == 0 && d <= 24*time.Hour:
		return fmt.Sprintf("PT%dM", d/time.Minute)
	}
	return ""
}

// NewSummary shapes the store's aggregate: totals, intervals, the codes
// (failures first, most first, success last) and the addresses.
func NewSummary(q store.SignInSummaryQuery, sum store.SignInSummary, asOf time.Time) Summary {
	out := Summary{AsOf: asOf.UTC(), Since: q.Since, Until: q.Until, Interval: FormatInterval(q.Bucket),
		Intervals: []SummaryInterval{}, ErrorCodes: []SummaryCode{}, TopFailingAddresses: []SummaryAddress{}}
	for _, b := range sum.Buckets {
		out.Intervals = append(out.Intervals, SummaryInterval{Start: b.Start.UTC(), Total: b.Total, Failures: b.Failures,
			Interrupted: b.Interrupted})
		out.Total, out.Failures, out.Interrupted = out.Total+b.Total, out.Failures+b.Failures, out.Interrupted+b.Interrupted
	}
	for code, n := range sum.Codes {
		c := SummaryCode{ErrorCode: code, Count: n}
		if e, ok := aadsts.Lookup(aadsts.Code(code)); ok && code != 0 {
			c.ErrorName = e.Name
		}
		out.ErrorCodes = append(out.ErrorCodes, c)
	}
	slices.SortFunc(out.ErrorCodes, func(x, y SummaryCode) int {
		if (x.ErrorCode == 0) != (y.ErrorCode == 0) { // success last
			if x.ErrorCode == 0 {
				return 1
			}
			return -1
		}
		if x.Count != y.Count {
			if x.Count > y.Count {
				return -1
			}
			return 1
		}
		return x.ErrorCode - y.ErrorCode
	})
	for _, a := range sum.Addresses {
		out.TopFailingAddresses = append(out.TopFailingAddresses, SummaryAddress(a))
	}
	return out
}

// WriteText prints the summary for a terminal: totals, a line per
// interval, the codes and the addresses.
func (s Summary) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Sign-ins %s to %s (UTC), counted at %s\n", s.Since.Format("2006-01-02 15:04"), s.Until.Format("2006-01-02 15:04"),
		s.AsOf.Format("15:04:05"))
	fmt.Fprintf(w, "  %d sign-ins, %d failed, %d interrupted\n\n", s.Total, s.Failures, s.Interrupted)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tSIGN-INS\tFAILED\tINTERRUPTED")
	for _, in := range s.Intervals {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", in.Start.Format("2006-01-02 15:04"), in.Total, in.Failures, in.Interrupted)
	}
	fmt.Fprintln(tw, "\nCODE\tNAME\tSIGN-INS\t")
	for _, c := range s.ErrorCodes {
		fmt.Fprintf(tw, "%d\t%s\t%d\t\n", c.ErrorCode, c.ErrorName, c.Count)
	}
	if len(s.TopFailingAddresses) > 0 {
		fmt.Fprintln(tw, "\nFAILING ADDRESS\tFAILURES\tUSER NAMES\t")
		for _, a := range s.TopFailingAddresses {
			fmt.Fprintf(tw, "%s\t%d\t%d\t\n", a.IPAddress, a.Failures, a.Accounts)
		}
	}
	return tw.Flush()
}
