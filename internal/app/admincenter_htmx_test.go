package app_test

import (
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/admincenter"
	"github.com/portcullis-idp/portcullis/internal/rbac"
)

var (
	scriptTag   = regexp.MustCompile(`<script[^>]*>`)
	hxReference = regexp.MustCompile(`hx-(?:target|select|select-oob|indicator)="([^"]*)"`)
	inlineCode  = regexp.MustCompile(`(?i)\son[a-z]+=|\sstyle="|javascript:|hx-on|hx-vars|js:`)
)

// checkPartialPage holds a console page to what htmx and the policy need:
// scripts only from files, with integrity; no inline code or style for
// the policy to refuse; and every region the page's htmx attributes name
// present in the page itself, since the server answers a partial update
// with the whole page and htmx picks the region out of it.
func checkPartialPage(t *testing.T, name string, p page) {
	t.Helper()
	if p.status >= 500 || p.status == 0 {
		t.Fatalf("%s: %d", name, p.status)
	}
	csp := p.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") ||
		strings.Contains(csp, "unsafe") {
		t.Fatalf("%s: policy %q", name, csp)
	}
	for _, tag := range scriptTag.FindAllString(p.body, -1) {
		if !strings.Contains(tag, ` src="/admin/assets/`) || !strings.Contains(tag, ` integrity="sha384-`) {
			t.Fatalf("%s: a script that is not a checked file from this origin: %s", name, tag)
		}
	}
	if m := inlineCode.FindString(p.body); m != "" {
		t.Fatalf("%s: inline code or style %q", name, m)
	}
	for _, ref := range hxReference.FindAllStringSubmatch(p.body, -1) {
		for _, sel := range strings.Split(ref[1], ",") {
			id := strings.TrimPrefix(strings.TrimSpace(sel), "#")
			if id == "unset" { // not inherited here
				continue
			}
			if !strings.Contains(p.body, `id="`+id+`"`) {
				t.Fatalf("%s: %s names #%s, which the page lacks", name, ref[0], id)
			}
		}
	}
}

// TestAdminCenterPartialUpdates: the vendored htmx is the pinned release
// and is served with the digest the pages check; every page keeps to the
// policy and names only regions it has; an htmx request without a session
// is told to navigate the window to sign in (and back to where it was),
// not handed the sign-in page to draw inside the console; a filter's
// problems redraw the whole form; and the answer to a form names the page
// it shows, never the POST's address.
func TestAdminCenterPartialUpdates(t *testing.T) {
	ts := startServer(t, nil)
	b := newBrowser(t, "")
	js := servedHTMX(t, ts, b)

	// No session yet: htmx is told where to send the window.
	hx := http.Header{"Hx-Request": {"true"}}
	if p := b.doWith("GET", ts.base+"/admin/signins?errorCode=50053", nil, hx); p.status != http.StatusNoContent ||
		p.header.Get("HX-Redirect") != "/admin/signin?return="+url.QueryEscape("/admin/signins?errorCode=50053") {
		t.Fatalf("an htmx request without a session: %d HX-Redirect %q", p.status, p.header.Get("HX-Redirect"))
	}
	hxPost := http.Header{"Hx-Request": {"true"}, "Hx-Current-Url": {ts.base + "/admin/users/" + ts.alice.ID}}
	if p := b.doWith("POST", ts.base+"/admin/users/"+ts.alice.ID+"/unlock", url.Values{"csrf": {"x"}}, hxPost); p.status != http.StatusNoContent ||
		p.header.Get("HX-Redirect") != "/admin/signin?return="+url.QueryEscape("/admin/users/"+ts.alice.ID) {
		t.Fatalf("an htmx form without a session: %d HX-Redirect %q", p.status, p.header.Get("HX-Redirect"))
	}

	landing := adminSignIn(t, ts, b, "/admin/", "admin@contoso.test", adminPassword)
	tag := html.UnescapeString(between(landing.body, `<script src="/admin/assets/htmx.min.js`, ">"))
	sum := sha512.Sum384([]byte(js.body))
	if !strings.Contains(tag, `integrity="sha384-`+base64.StdEncoding.EncodeToString(sum[:])+`"`) {
		t.Fatalf("the page's htmx tag does not carry the served file's digest: %q", tag)
	}
	checkPartialPage(t, "overview", landing)
	log := b.do("GET", ts.base+"/admin/signins", nil)
	id := between(log.body, `<a href="/admin/signins/`, "?")
	for name, path := range map[string]string{
		"sign-in logs": "/admin/signins?status=failure", "sign-in": "/admin/signins/" + id + "?tab=protection",
		"users": "/admin/users?q=alice", "user": "/admin/users/" + ts.alice.ID + "?diagnose=1",
		"protection": "/admin/protection", "audit logs": "/admin/audits", "not found": "/admin/signins/nonesuch",
		"live overview": "/admin/?live=1",
	} {
		checkPartialPage(t, name, b.doWith("GET", ts.base+path, nil, hx))
	}

	// A bad filter: the results alone would not show what is wrong.
	for _, path := range []string{"/admin/signins?errorCode=abc", "/admin/audits?to=soon"} {
		p := b.doWith("GET", ts.base+path, nil, hx)
		if p.status != http.StatusBadRequest || p.header.Get("HX-Retarget") != "#main" || p.header.Get("HX-Reselect") != "#main" ||
			!strings.Contains(p.body, `aria-invalid="true"`) {
			t.Fatalf("%s by htmx: %d retarget %q", path, p.status, p.header.Get("HX-Retarget"))
		}
	}
	if p := b.do("GET", ts.base+"/admin/signins?status=failure", nil); p.header.Get("HX-Retarget") != "" {
		t.Fatal("a good filter redraws the whole page")
	}

	// A reset's answer is drawn at the user's page: the address bar must
	// not show the POST's, nor may the temporary password be in any URL.
	csrf := csrfOf(t, landing.body)
	reset := b.doWith("POST", ts.base+"/admin/users/"+ts.alice.ID+"/reset", url.Values{"csrf": {csrf}}, hx)
	if reset.status != http.StatusOK || reset.header.Get("HX-Push-Url") != "/admin/users/"+ts.alice.ID ||
		!strings.Contains(reset.body, "Temporary password") {
		t.Fatalf("reset by htmx: %d HX-Push-Url %q", reset.status, reset.header.Get("HX-Push-Url"))
	}
	if p := b.doWith("POST", ts.base+"/admin/protection/blocked", url.Values{"csrf": {"stale"}}, hx); p.status != http.StatusForbidden ||
		p.header.Get("HX-Push-Url") != "false" {
		t.Fatalf("a stale form by htmx: %d HX-Push-Url %q", p.status, p.header.Get("HX-Push-Url"))
	}

	// An error page holds none of the regions a partial update asked for:
	// it is drawn over the main region instead of swapping one away.
	if p := b.doWith("GET", ts.base+"/admin/signins/nonesuch", nil, hx); p.status != http.StatusNotFound ||
		p.header.Get("HX-Retarget") != "#main" || !strings.Contains(p.body, `id="main"`) {
		t.Fatalf("a missing record by htmx: %d retarget %q", p.status, p.header.Get("HX-Retarget"))
	}

	requireEndedSessionsSignIn(t, ts, hx)

	// A Reports Reader's pages keep to the same rules.
	reader, _ := ts.withRole("rhea", rbac.ReportsReader)
	rb := newBrowser(t, "")
	checkPartialPage(t, "reader's log", adminSignIn(t, ts, rb, "/admin/signins", reader.UserPrincipalName, adminTestPassword))
}

// servedHTMX fetches the vendored htmx and requires it to be the pinned
// release, served with its type, and gzipped only when asked for.
func servedHTMX(t *testing.T, ts *testServer, b *browser) page {
	t.Helper()
	js := b.do("GET", ts.base+"/admin/assets/htmx.min.js", nil)
	digest := sha256.Sum256([]byte(js.body))
	if js.status != http.StatusOK || hex.EncodeToString(digest[:]) != admincenter.HTMXSHA256 ||
		!strings.Contains(js.header.Get("Content-Type"), "javascript") || js.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("htmx %s as served: %d %s, sha256 %x", admincenter.HTMXVersion, js.status, js.header.Get("Content-Type"), digest)
	}

	// Asked for gzip (as browsers do), the same bytes come compressed;
	// asked for nothing, as they are.
	gz := b.doWith("GET", ts.base+"/admin/assets/htmx.min.js", nil, http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
	zr, err := gzip.NewReader(strings.NewReader(gz.body))
	if err != nil || gz.header.Get("Content-Encoding") != "gzip" || len(gz.body) > len(js.body)/2 {
		t.Fatalf("htmx gzipped: %q, %d bytes, %v", gz.header.Get("Content-Encoding"), len(gz.body), err)
	}
	if unzipped, _ := io.ReadAll(zr); string(unzipped) != js.body {
		t.Fatal("the gzipped htmx is not htmx")
	}
	if plain := b.doWith("GET", ts.base+"/admin/assets/htmx.min.js", nil, http.Header{"Accept-Encoding": {"identity"}}); plain.body != js.body ||
		plain.header.Get("Content-Encoding") != "" {
		t.Fatal("htmx without gzip differs")
	}
	if missing := b.do("GET", ts.base+"/admin/assets/nonesuch.js", nil); missing.status != http.StatusNotFound {
		t.Fatalf("a missing asset: %d", missing.status)
	}
	return js
}

// requireEndedSessionsSignIn: a revoked or disabled administrator has no
// session: sent to sign in, not shown the console with every part refused.
func requireEndedSessionsSignIn(t *testing.T, ts *testServer, hx http.Header) {
	t.Helper()
	_, gaTok := ts.withRole("gina", rbac.GlobalAdministrator)
	for _, step := range []struct{ name, method, path, body string }{
		{"revoked", "POST", "/v1.0/users/%s/revokeSignInSessions", ""},
		{"disabled", "PATCH", "/v1.0/users/%s", `{"accountEnabled":false}`},
	} {
		helper, _ := ts.withRole("hal"+step.name, rbac.HelpdeskAdministrator)
		hb := newBrowser(t, "")
		if p := adminSignIn(t, ts, hb, "/admin/users", helper.UserPrincipalName, adminTestPassword); p.status != http.StatusOK {
			t.Fatalf("%s: sign-in %d", step.name, p.status)
		}
		if r := ts.api(step.method, fmt.Sprintf(step.path, helper.ID), gaTok, step.body); r.status >= 300 {
			t.Fatalf("%s: %d %s", step.name, r.status, r.raw)
		}
		if p := hb.do("GET", ts.base+"/admin/users", nil); p.status != http.StatusFound || !strings.HasPrefix(p.location.Path, "/admin/signin") {
			t.Fatalf("%s administrator's page: %d %v", step.name, p.status, p.location)
		}
		if p := hb.doWith("GET", ts.base+"/admin/users", nil, hx); p.status != http.StatusNoContent || p.header.Get("HX-Redirect") == "" {
			t.Fatalf("%s administrator's partial update: %d", step.name, p.status)
		}
	}
}
