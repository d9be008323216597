package adminapi

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// Bounds of a summary: the work is one scan of the span, so the span is
// bounded, and the answer small.
const (
	maxSummarySpan    = 31 * 24 * time.Hour
	maxSummaryBuckets = 1000
	maxSummaryTop     = 100
)

type summaryBucket struct {
	Start       time.Time `json:"start"`
	Total       int64     `json:"total"`
	Failures    int64     `json:"failures"`
	Interrupted int64     `json:"interrupted"`
}

type summaryCode struct {
	ErrorCode int    `json:"errorCode"`
	ErrorName string `json:"errorName,omitempty"`
	Count     int64  `json:"count"`
}

type summaryAddress struct {
	IPAddress string `json:"ipAddress"`
	Failures  int64  `json:"failures"`
	Accounts  int64  `json:"accounts"`
}

type signInSummary struct {
	AsOf                time.Time        `json:"asOf"`
	Since               time.Time        `json:"since"`
	Until               time.Time        `json:"until"`
	Interval            string           `json:"interval"`
	Total               int64            `json:"total"`
	Failures            int64            `json:"failures"`
	Interrupted         int64            `json:"interrupted"`
	Intervals           []summaryBucket  `json:"intervals"`
	ErrorCodes          []summaryCode    `json:"errorCodes"`
	TopFailingAddresses []summaryAddress `json:"topFailingAddresses"`
}

// summarizeSignIns is GET /v1.0/portcullis/signIns/summary: a span of the
// sign-in log (?since=&until=, RFC 3339; the last 24 hours to the next
// whole hour by default) counted per interval (?interval=PT1H: minutes
// or hours, PTnM or PTnH, or P1D), per error code (failures first, most
// first), and the failing addresses with the most failures (?top=5),
// each with the distinct user names it tried. A summary is computed at
// most once per span every summaryTTL (asOf says when), however many ask.
func (a *API) summarizeSignIns(w http.ResponseWriter, r *http.Request, p *principal) {
	q, interval, err := a.parseSummaryQuery(r, p.tenantID)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	sum, asOf, err := a.summaries.get(r.Context(), q, a.now(), a.store.SummarizeSignIns)
	switch {
	case errors.Is(err, errSummaryBusy):
		w.Header().Set("Retry-After", "5")
		writeError(w, r, http.StatusServiceUnavailable, "serviceNotAvailable", "Too many summaries are being computed; retry shortly.")
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	out := signInSummary{AsOf: asOf.UTC(), Since: q.Since, Until: q.Until, Interval: interval, Intervals: []summaryBucket{},
		ErrorCodes: []summaryCode{}, TopFailingAddresses: []summaryAddress{}}
	for _, b := range sum.Buckets {
		out.Intervals = append(out.Intervals, summaryBucket{Start: b.Start.UTC(), Total: b.Total, Failures: b.Failures,
			Interrupted: b.Interrupted})
		out.Total, out.Failures, out.Interrupted = out.Total+b.Total, out.Failures+b.Failures, out.Interrupted+b.Interrupted
	}
	for code, n := range sum.Codes {
		c := summaryCode{ErrorCode: code, Count: n}
		if e, ok := aadsts.Lookup(aadsts.Code(code)); ok && code != 0 {
			c.ErrorName = e.Name
		}
		out.ErrorCodes = append(out.ErrorCodes, c)
	}
	slices.SortFunc(out.ErrorCodes, func(x, y summaryCode) int {
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
	for _, addr := range sum.Addresses {
		out.TopFailingAddresses = append(out.TopFailingAddresses, summaryAddress(addr))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) parseSummaryQuery(r *http.Request, tenantID string) (store.SignInSummaryQuery, string, error) {
	v := r.URL.Query()
	q := store.SignInSummaryQuery{TenantID: tenantID, TopAddresses: 5, Interrupted: signinlog.InterruptedCodes}
	interval := v.Get("interval")
	if interval == "" {
		interval = "PT1H"
	}
	width, ok := parseInterval(interval)
	if !ok {
		return q, "", badQuery("interval must be PTnM, PTnH or P1D, such as PT1H.")
	}
	q.Bucket = width
	q.Until = a.now().UTC().Truncate(time.Hour).Add(time.Hour)
	for name, dst := range map[string]*time.Time{"until": &q.Until, "since": &q.Since} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, "", badQuery(name + " must be an RFC 3339 time, such as 2026-11-24T00:00:00Z.")
			}
			*dst = t.UTC()
		}
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-24 * time.Hour)
	}
	// Spans start and end on whole intervals (from the Unix epoch): every
	// asker of "about this span" shares one summary, and one cannot make
	// each request a new scan by moving a bound by a microsecond.
	q.Since = q.Since.Truncate(width)
	if t := q.Until.Truncate(width); !t.Equal(q.Until) {
		q.Until = t.Add(width)
	}
	span := q.Until.Sub(q.Since)
	switch {
	case span <= 0:
		return q, "", badQuery("since must be before until.")
	case span > maxSummarySpan:
		return q, "", badQuery("A summary spans at most 31 days.")
	case span/width > maxSummaryBuckets:
		return q, "", badQuery("At most 1,000 intervals: choose a longer interval.")
	}
	if s := v.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxSummaryTop {
			return q, "", badQuery("top must be a whole number from 0 to 100.")
		}
		q.TopAddresses = n
	}
	return q, interval, nil
}

// parseInterval reads the ISO 8601 durations a summary accepts.
func parseInterval(s string) (time.Duration, bool) {
	if s == "P1D" {
		return 24 * time.Hour, true
	}
	rest, ok := strings.CutPrefix(s, "PT")
	if !ok || len(rest) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[:len(rest)-1])
	if err != nil || n <= 0 || n > 24*60 {
		return 0, false
	}
	switch rest[len(rest)-1] {
	case 'M':
		return time.Duration(n) * time.Minute, true
	case 'H':
		if n > 24 {
			return 0, false
		}
		return time.Duration(n) * time.Hour, true
	}
	return 0, false
}
