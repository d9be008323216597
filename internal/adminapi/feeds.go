package adminapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/ipintel"
)

// feedStatus is one configured threat feed and the outcome of its last load.
type feedStatus struct {
	Name                string              `json:"name"`
	Source              string              `json:"source"`
	Category            string              `json:"category"`
	Action              string              `json:"action"`
	Prefixes            int                 `json:"prefixes"`
	MalformedLines      int                 `json:"malformedLines"`
	LastAttemptDateTime *string             `json:"lastAttemptDateTime"`
	LastSuccessDateTime *string             `json:"lastSuccessDateTime"`
	LastError           string              `json:"lastError,omitempty"`
	SampleErrors        []ipintel.LineError `json:"sampleErrors"`
}

func (a *API) feedStatuses() []feedStatus {
	out := []feedStatus{}
	if a.feeds == nil {
		return out
	}
	for _, st := range a.feeds.Status() {
		fs := feedStatus{Name: st.Name, Source: redactSource(st.Source), Category: st.Category, Action: st.Action,
			Prefixes: st.Prefixes, MalformedLines: st.Malformed, LastAttemptDateTime: optionalTime(st.LastAttempt),
			LastSuccessDateTime: optionalTime(st.LastSuccess), LastError: st.LastError, SampleErrors: st.SampleErrors}
		if fs.SampleErrors == nil {
			fs.SampleErrors = []ipintel.LineError{}
		}
		out = append(out, fs)
	}
	return out
}

// redactSource hides credentials a feed URL may carry (user:pass@ or a
// query string with a key), which admins reading statuses need not see.
func redactSource(src string) string {
	if i := strings.Index(src, "://"); i >= 0 {
		rest := src[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 && at < strings.IndexAny(rest+"/", "/") {
			src = src[:i+3] + "…@" + rest[at+1:]
		}
	}
	if q := strings.Index(src, "?"); q >= 0 {
		src = src[:q] + "?…"
	}
	return src
}

func (a *API) listFeeds(w http.ResponseWriter, r *http.Request, _ *principal) {
	httpx.WriteJSON(w, http.StatusOK, collection[feedStatus]{Context: a.odataContext("portcullis/feeds"), Value: a.feedStatuses()})
}

// refreshFeeds fetches or re-reads one feed (?name=) or all of them now.
// A failed feed keeps its last good copy; the answer reports each feed.
func (a *API) refreshFeeds(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.URL.Query().Get("name")
	if a.feeds == nil {
		writeError(w, r, http.StatusNotFound, codeNotFound, "No threat feeds are configured.")
		return
	}
	if name != "" && !a.hasFeed(name) {
		writeError(w, r, http.StatusNotFound, codeNotFound, "No feed called '"+name+"' is configured.")
		return
	}
	ctx, cancel := contextWithTimeout(r, 2*time.Minute)
	defer cancel()
	refreshErr := a.feeds.Refresh(ctx, name)
	result := ""
	if refreshErr != nil {
		result = refreshErr.Error()
	}
	a.audit(r, p, auditEntry{category: "IPProtection", activity: "Refresh threat feeds", operation: "Update",
		targets: []auditTarget{{ID: name, DisplayName: map[bool]string{true: "all feeds", false: name}[name == ""], Type: "ThreatFeed"}},
		details: []keyValue{{Key: "errors", Value: result}}})
	httpx.WriteJSON(w, http.StatusOK, collection[feedStatus]{Context: a.odataContext("portcullis/feeds"), Value: a.feedStatuses()})
}

func (a *API) hasFeed(name string) bool {
	for _, st := range a.feeds.Status() {
		if st.Name == name {
			return true
		}
	}
	return false
}
