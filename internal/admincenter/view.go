package admincenter

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
)

// layout is what every page shows around its content.
type layout struct {
	Title   string
	Section string // the navigation entry to highlight
	Name    string // the administrator
	UPN     string
	CSRF    string
	// Nav lists the sections the administrator's roles can use: the
	// others are not shown (and the API refuses them anyway).
	Nav []navItem
}

type navItem struct {
	Section, Label, Href string
}

// sections are the console's pages and the permission each needs.
var sections = []struct {
	item navItem
	need rbac.Permission
}{
	{navItem{"overview", "Overview", "/admin/"}, ""},
	{navItem{"signins", "Sign-in logs", "/admin/signins"}, rbac.SignInsRead},
	{navItem{"audits", "Audit logs", "/admin/audits"}, rbac.AuditRead},
	{navItem{"users", "Users", "/admin/users"}, rbac.UsersRead},
	{navItem{"protection", "Protection", "/admin/protection"}, rbac.IPProtectionRead},
}

func (c *Center) layoutFor(v *viewer, section, title string) layout {
	l := layout{Title: title, Section: section, Name: v.Name, UPN: v.UPN, CSRF: v.CSRF}
	for _, s := range sections {
		if s.need != "" && v.can(s.need) {
			l.Nav = append(l.Nav, s.item)
		}
	}
	if len(l.Nav) > 0 { // the Overview only beside something it summarises
		l.Nav = append([]navItem{sections[0].item}, l.Nav...)
	}
	return l
}

// errorView is a page that could not show what was asked.
type errorView struct {
	layout
	Heading, Message string
}

// renderError draws a page that could not show what was asked: inside the
// console's frame (its navigation kept) when an administrator is signed
// in, v nil otherwise.
func (c *Center) renderError(w http.ResponseWriter, v *viewer, status int, heading, message string) {
	if status < 400 {
		status = http.StatusBadGateway
	}
	l := layout{Title: heading}
	if v != nil {
		l = c.layoutFor(v, "", heading)
	}
	redrawWholeAlways(w)
	c.render(w, status, "error.html", errorView{layout: l, Heading: heading, Message: message})
}

// redrawWhole tells htmx to draw the whole main region rather than the
// part it asked for: a form's problems are shown in the form, which a
// results-only update would leave out.
func redrawWhole(w http.ResponseWriter, r *http.Request) {
	if isHTMX(r) {
		redrawWholeAlways(w)
	}
}

// redrawWholeAlways is redrawWhole for answers that are the same for htmx
// and a browser (the headers mean nothing to a browser): error pages,
// which hold none of the regions a partial update asked for.
func redrawWholeAlways(w http.ResponseWriter) {
	w.Header().Set("HX-Retarget", "#main")
	w.Header().Set("HX-Reselect", "#main")
	w.Header().Set("HX-Reswap", "outerHTML show:window:top")
}

// answeredAt names the page a form's answer shows, for the address bar:
// htmx would otherwise show the POST's own address, which a reload could
// not GET. "false" leaves the address as it was.
func answeredAt(w http.ResponseWriter, page string) { w.Header().Set("HX-Push-Url", page) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

var funcs = template.FuncMap{
	// when shows a time in UTC, to the second, as the logs are kept.
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	// whenText is when for a time the API gave as RFC 3339 text (as is,
	// if it is not).
	"whenText": func(s string) string {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return s
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	// clock is a lock's end as an administrator reads it at a glance.
	"clock": func(t time.Time) string { return t.UTC().Format("15:04 UTC, 2 Jan") },
	"mod":   func(a, b int) int { return a % b },
	"deref": func(b *bool) bool { return b != nil && *b },
	"className": func(class string) string {
		if n, ok := classNames[class]; ok {
			return "From " + n
		}
		return class
	},
	"whenPtr": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	// errorName is the catalogue's name for a code ("" for success).
	"errorName": func(code int) string {
		if code == 0 {
			return ""
		}
		if e, ok := aadsts.Lookup(aadsts.Code(code)); ok {
			return e.Name
		}
		return ""
	},
	"errorLink": func(code int) string { return "/error?code=" + strconv.Itoa(code) },
	"status": func(code int) string {
		switch {
		case code == 0:
			return "Success"
		case signinlog.Interrupted(code):
			return "Interrupted"
		}
		return "Failure"
	},
	"tabs": func() []tab { return detailTabs },
	"tabOf": func(t string) string {
		for _, d := range detailTabs {
			if d.ID == t {
				return t
			}
		}
		return "basic"
	},
	"yesNo": func(b *bool) string {
		switch {
		case b == nil:
			return "not checked"
		case *b:
			return "yes"
		}
		return "no"
	},
}

// tab is one tab of a sign-in's details, as Entra's are.
type tab struct{ ID, Label string }

var detailTabs = []tab{{"basic", "Basic info"}, {"location", "Location"}, {"device", "Device info"},
	{"auth", "Authentication details"}, {"protection", "Protection"}}
