package admincenter

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/signinlog"
)

// signInFilter is the sign-in log page's filter form; its fields are the
// page's query string, so a filtered view is a link that can be shared.
type signInFilter struct {
	From, To  string // dates, YYYY-MM-DD (UTC)
	User      string // UPN (exact) or the start of one
	App       string // app ID or the start of its display name
	Status    string // success, failure, interrupted or ""
	ErrorCode string
	IP        string // an address (exact), or the start of one
	Location  string // a country code (two letters) or a city
}

func filterFromQuery(q url.Values) signInFilter {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return signInFilter{From: get("from"), To: get("to"), User: get("user"), App: get("app"), Status: get("status"),
		ErrorCode: get("errorCode"), IP: get("ip"), Location: get("location")}
}

// query is the filter as the page's query string (empty fields left out).
func (f signInFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "user": f.User, "app": f.App, "status": f.Status,
		"errorCode": f.ErrorCode, "ip": f.IP, "location": f.Location} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// odata translates the form into the API's $filter, or says which field is
// wrong. Every value travels as a quoted literal or a checked number.
func (f signInFilter) odata() (string, map[string]string) {
	var parts []string
	problems := map[string]string{}
	day := func(field, v string, end bool) {
		if v == "" {
			return
		}
		d, err := time.Parse("2006-01-02", v)
		if err != nil {
			problems[field] = "Enter a date as YYYY-MM-DD."
			return
		}
		if end {
			parts = append(parts, "createdDateTime le "+d.Add(24*time.Hour-time.Microsecond).Format(time.RFC3339Nano))
		} else {
			parts = append(parts, "createdDateTime ge "+d.Format(time.RFC3339))
		}
	}
	day("from", f.From, false)
	day("to", f.To, true)
	if f.User != "" {
		if strings.Contains(f.User, "@") && !strings.HasSuffix(f.User, "@") {
			parts = append(parts, "userPrincipalName eq "+odataString(strings.ToLower(f.User)))
		} else {
			parts = append(parts, "startswith(userPrincipalName,"+odataString(strings.ToLower(f.User))+")")
		}
	}
	if f.App != "" {
		parts = append(parts, "(appId eq "+odataString(f.App)+" or startswith(appDisplayName,"+odataString(f.App)+"))")
	}
	switch f.Status {
	case "":
	case "success":
		parts = append(parts, "status/errorCode eq 0")
	case "failure", "interrupted":
		var codes []string
		for _, c := range signinlog.InterruptedCodes {
			codes = append(codes, "status/errorCode eq "+strconv.Itoa(c))
		}
		interrupted := "(" + strings.Join(codes, " or ") + ")"
		if f.Status == "interrupted" {
			parts = append(parts, interrupted)
		} else {
			parts = append(parts, "status/errorCode ne 0 and not "+interrupted)
		}
	default:
		problems["status"] = "Choose success, failure or interrupted."
	}
	if f.ErrorCode != "" {
		n, err := strconv.Atoi(f.ErrorCode)
		if err != nil || n < 0 {
			problems["errorCode"] = "An error code is a number, such as 50053."
		} else {
			parts = append(parts, "status/errorCode eq "+strconv.Itoa(n))
		}
	}
	if f.IP != "" {
		// A whole address means that address (203.0.113.1 is not also
		// 203.0.113.10); anything else is the start of one.
		if addr, err := netip.ParseAddr(f.IP); err == nil {
			parts = append(parts, "ipAddress eq "+odataString(addr.String()))
		} else {
			parts = append(parts, "startswith(ipAddress,"+odataString(f.IP)+")")
		}
	}
	if f.Location != "" {
		if len(f.Location) == 2 {
			parts = append(parts, "location/countryOrRegion eq "+odataString(strings.ToUpper(f.Location)))
		} else {
			parts = append(parts, "location/city eq "+odataString(f.Location))
		}
	}
	return strings.Join(parts, " and "), problems
}

// signInsView is the sign-in log page.
type signInsView struct {
	layout
	Filter   signInFilter
	Problems map[string]string
	Records  []signinlog.Record
	Next     string // the next page's link, "" on the last
	Error    string
	Selected *signinlog.Record
	Tab      string
	Query    template.URL // the filter as a query string, for links that keep it (encoded here)
}

const signInsPageSize = 50

func (c *Center) signInsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	c.renderSignIns(w, r, v, nil)
}

func (c *Center) renderSignIns(w http.ResponseWriter, r *http.Request, v *viewer, selected *signinlog.Record) {
	f := filterFromQuery(r.URL.Query())
	view := signInsView{layout: c.layoutFor(v, "signins", "Sign-in logs"), Filter: f, Selected: selected,
		Tab: r.URL.Query().Get("tab"), Query: template.URL(f.query().Encode())}
	filter, problems := f.odata()
	view.Problems = problems
	status := http.StatusOK
	if len(problems) == 0 {
		q := url.Values{"$top": {strconv.Itoa(signInsPageSize)}}
		if filter != "" {
			q.Set("$filter", filter)
		}
		if tok := r.URL.Query().Get("page"); tok != "" {
			q.Set("$skiptoken", tok)
		}
		var page collection[signinlog.Record]
		page, status, view.Error = readCollection[signinlog.Record](c, r, v, "/v1.0/auditLogs/signIns?"+q.Encode())
		view.Records, view.Next = page.Value, nextPageLink("/admin/signins", f.query(), page.NextLink)
	} else {
		status = http.StatusBadRequest
		redrawWhole(w, r)
	}
	c.render(w, status, "signins.html", view)
}

// signInPage is the log with one record's details open.
func (c *Center) signInPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	code, body := c.call(r, http.MethodGet, "/v1.0/auditLogs/signIns/"+url.PathEscape(r.PathValue("id")), v.Token, nil, "")
	var rec signinlog.Record
	if code != http.StatusOK || json.Unmarshal(body, &rec) != nil {
		c.renderError(w, v, code, "Sign-in not shown", apiMessage(code, body))
		return
	}
	c.renderSignIns(w, r, v, &rec)
}

// signInsExport downloads the filtered log as CSV or JSON, streamed from
// the API's export.
func (c *Center) signInsExport(w http.ResponseWriter, r *http.Request, v *viewer) {
	format := r.PathValue("format")
	if format != "csv" && format != "json" {
		http.NotFound(w, r)
		return
	}
	filter, problems := filterFromQuery(r.URL.Query()).odata()
	if len(problems) > 0 {
		c.renderError(w, v, http.StatusBadRequest, "Download not started", "Correct the filter first.")
		return
	}
	q := url.Values{"format": {format}}
	if filter != "" {
		q.Set("$filter", filter)
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="signins.%s"`, format))
	c.stream(w, r, "/v1.0/portcullis/signIns/export?"+q.Encode(), v.Token)
}

// apiMessage is the message of a Graph error body, or a sentence for the
// status.
func apiMessage(code int, body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	switch code {
	case http.StatusForbidden:
		return "Your roles do not allow this."
	case http.StatusNotFound:
		return "It does not exist (any more)."
	}
	return fmt.Sprintf("The request failed (HTTP %d).", code)
}
