package adminapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// summarizeSignIns is GET /v1.0/portcullis/signIns/summary: a span of the
// sign-in log (?since=&until=, RFC 3339, widened to whole intervals; the
// last 24 hours to the next whole hour by default) counted per interval
// (?interval=PT1H: minutes or hours, PTnM or PTnH, or P1D), per error code
// (failures first, most first), and the failing addresses with the most
// failures (?top=5), each with the distinct user names it tried. A summary
// is computed at most once per span every summaryTTL (asOf says when),
// however many ask.
func (a *API) summarizeSignIns(w http.ResponseWriter, r *http.Request, p *principal) {
	q, err := a.parseSummaryQuery(r, p.tenantID)
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
	httpx.WriteJSON(w, http.StatusOK, signinlog.NewSummary(q, sum, asOf))
}

func (a *API) parseSummaryQuery(r *http.Request, tenantID string) (store.SignInSummaryQuery, error) {
	v := r.URL.Query()
	interval := v.Get("interval")
	if interval == "" {
		interval = "PT1H"
	}
	width, ok := signinlog.ParseInterval(interval)
	if !ok {
		return store.SignInSummaryQuery{}, badQuery("interval must be PTnM, PTnH or P1D, such as PT1H.")
	}
	until := a.now().UTC().Truncate(time.Hour).Add(time.Hour)
	var since time.Time
	for name, dst := range map[string]*time.Time{"until": &until, "since": &since} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return store.SignInSummaryQuery{}, badQuery(name + " must be an RFC 3339 time, such as 2026-11-24T00:00:00Z.")
			}
			*dst = t
		}
	}
	if since.IsZero() {
		since = until.Add(-24 * time.Hour)
	}
	top := 5
	if s := v.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return store.SignInSummaryQuery{}, badQuery("top must be a whole number from 0 to 100.")
		}
		top = n
	}
	q, err := signinlog.SummaryQuery(tenantID, since, until, width, top)
	if err != nil {
		return q, badQuery(err.Error() + ".")
	}
	return q, nil
}
