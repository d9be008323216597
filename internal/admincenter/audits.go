package admincenter

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
)

// auditFilter is the audit log page's filter form (the query string).
type auditFilter struct{ From, To, Activity, Target string }

type auditsView struct {
	layout
	Filter   auditFilter
	Problems map[string]string
	Audits   []adminapi.DirectoryAudit
	Next     string // the next page's link, "" on the last
	Error    string
}

// auditsPageSize is how many matching records a page shows.
const auditsPageSize = 100

// auditsPage shows the newest audit records matching the filter.
func (c *Center) auditsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	q := r.URL.Query()
	f := auditFilter{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Activity: strings.TrimSpace(q.Get("activity")), Target: strings.TrimSpace(q.Get("target"))}
	view := auditsView{layout: c.layoutFor(v, "audits", "Audit logs"), Filter: f, Problems: map[string]string{}}
	var parts []string
	for _, d := range []struct {
		field, value, op string
		end              bool
	}{{"from", f.From, "ge", false}, {"to", f.To, "le", true}} {
		if d.value == "" {
			continue
		}
		day, err := time.Parse("2006-01-02", d.value)
		if err != nil {
			view.Problems[d.field] = "Enter a date as YYYY-MM-DD."
			continue
		}
		if d.end { // the whole day, to its last microsecond
			day = day.Add(24*time.Hour - time.Microsecond)
		}
		parts = append(parts, "activityDateTime "+d.op+" "+day.Format(time.RFC3339Nano))
	}
	if f.Activity != "" {
		parts = append(parts, "activityDisplayName eq "+odataString(f.Activity))
	}
	if f.Target != "" {
		parts = append(parts, "targetResources/id eq "+odataString(f.Target))
	}
	if len(view.Problems) > 0 {
		redrawWhole(w, r)
		c.render(w, http.StatusBadRequest, "audits.html", view)
		return
	}
	aq := url.Values{"$top": {strconv.Itoa(auditsPageSize)}}
	if len(parts) > 0 {
		aq.Set("$filter", strings.Join(parts, " and "))
	}
	if tok := q.Get("page"); tok != "" {
		aq.Set("$skiptoken", tok)
	}
	page, status, message := readCollection[adminapi.DirectoryAudit](c, r, v, "/v1.0/auditLogs/directoryAudits?"+aq.Encode())
	view.Audits, view.Error = page.Value, message
	filter := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "activity": f.Activity, "target": f.Target} {
		if v != "" {
			filter.Set(k, v)
		}
	}
	view.Next = nextPageLink("/admin/audits", filter, page.NextLink)
	c.render(w, status, "audits.html", view)
}
