package app_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// adminSignIn signs user in to the admin center through the hosted sign-in
// page, starting from target, and returns the page the console lands on.
func adminSignIn(t testing.TB, ts *testServer, b *browser, target, user, pw string) page {
	t.Helper()
	p := b.do("GET", ts.base+target, nil)
	for range 5 { // /admin/x -> /admin/signin -> authorize (the sign-in page)
		if p.status != http.StatusFound {
			break
		}
		p = b.do("GET", p.location.String(), nil)
	}
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("no sign-in page on the way to the admin center: %d %.300s", p.status, p.body)
	}
	p = b.submit(ts.base, p, url.Values{"username": {user}, "password": {pw}})
	for range 5 { // -> /admin/callback -> the page first asked for
		if p.status != http.StatusFound {
			break
		}
		p = b.do("GET", p.location.String(), nil)
	}
	return p
}

// TestAdminCenterSignInLogs: the seed's troubleshooting path in the
// console. A Reports Reader is sent to sign in, lands on the page first
// asked for (the log filtered by user and error code), sees Alice's failed
// sign-in with its failure reason, opens it, reads the request ID and the
// protection tab, and downloads the filtered log; an administrator without
// any role is refused by the API and told so; a tampered
// session cookie is no session.
func TestAdminCenterSignInLogs(t *testing.T) {
	ts := startServer(t, nil)
	if r := ts.token(passwordForm("alice@contoso.test", "wrong-password")); r.errorCode() != 50126 {
		t.Fatalf("wrong password: %s", r.raw)
	}
	reader, _ := ts.withRole("rita", rbac.ReportsReader)
	b := newBrowser(t, "")
	filtered := "/admin/signins?user=alice%40contoso.test&errorCode=50126"
	p := adminSignIn(t, ts, b, filtered, reader.UserPrincipalName, adminTestPassword)
	if p.status != http.StatusOK || !strings.Contains(p.body, "<h1>Sign-in logs</h1>") {
		t.Fatalf("landing page: %d %.500s", p.status, p.body)
	}
	rows := strings.Count(p.body, `<a href="/admin/signins/`)
	if rows != 1 || !strings.Contains(p.body, "alice@contoso.test") || !strings.Contains(p.body, `href="/error?code=50126"`) ||
		!strings.Contains(p.body, "invalid username or password") {
		t.Fatalf("filtered log shows %d rows:\n%s", rows, p.body)
	}
	if !strings.Contains(p.body, `value="alice@contoso.test"`) || !strings.Contains(p.body, `value="50126"`) {
		t.Fatal("the filter form does not show the filter in use")
	}
	id := between(p.body, `<a href="/admin/signins/`, "?")
	detail := b.do("GET", ts.base+"/admin/signins/"+id+"?user=alice%40contoso.test&errorCode=50126", nil)
	if detail.status != http.StatusOK || !strings.Contains(detail.body, "Activity details: sign-in") ||
		!strings.Contains(detail.body, id) || !strings.Contains(detail.body, "Request ID") {
		t.Fatalf("detail: %d %.500s", detail.status, detail.body)
	}
	protection := b.do("GET", ts.base+"/admin/signins/"+id+"?tab=protection", nil)
	if !strings.Contains(protection.body, "Password correct") || !strings.Contains(protection.body, "<dd>no</dd>") {
		t.Fatalf("protection tab: %.2000s", protection.body)
	}
	csv := b.do("GET", ts.base+"/admin/export/signins/csv?user=alice%40contoso.test&errorCode=50126", nil)
	if csv.status != http.StatusOK || strings.Count(strings.TrimSpace(csv.body), "\n") != 1 || !strings.Contains(csv.body, id) {
		t.Fatalf("CSV download: %d %q", csv.status, csv.body)
	}
	if bad := b.do("GET", ts.base+"/admin/signins?errorCode=abc", nil); bad.status != http.StatusBadRequest ||
		!strings.Contains(bad.body, "An error code is a number") {
		t.Fatalf("a bad filter: %d %.300s", bad.status, bad.body)
	}

	nobody, _ := ts.withRole("nora")
	nb := newBrowser(t, "")
	refused := adminSignIn(t, ts, nb, "/admin/signins", nobody.UserPrincipalName, adminTestPassword)
	if refused.status != http.StatusForbidden || strings.Contains(refused.body, "alice@contoso.test") ||
		!strings.Contains(refused.body, `role="alert"`) || strings.Contains(refused.body, `href="/admin/signins"`+" aria-current") ||
		!strings.Contains(refused.body, "Your roles open no part of the admin center") {
		t.Fatalf("a user without an admin role reading the log: %d %.500s", refused.status, refused.body)
	}

	tampered := newBrowser(t, "")
	u, _ := url.Parse(ts.base)
	tampered.client.Jar.SetCookies(u, []*http.Cookie{{Name: "pc_admin", Value: "AAAA" + strings.Repeat("x", 80)}})
	if p := tampered.do("GET", ts.base+"/admin/signins", nil); p.status != http.StatusFound ||
		!strings.HasPrefix(p.location.Path, "/admin/signin") {
		t.Fatalf("a forged session: %d %v", p.status, p.location)
	}
}

// requireAuditPages fills Bob's audit trail past one page and requires the
// audit page to show the newest hundred with a link to the rest, which
// keeps the filter and shows the older ones.
func requireAuditPages(t *testing.T, ts *testServer, b *browser) {
	t.Helper()
	base := time.Now().Add(-time.Hour)
	var rows []store.AuditRow
	for i := range 130 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		rows = append(rows, store.AuditRow{ID: id, TenantID: ts.tenant.ID, CreatedAt: base.Add(time.Duration(i) * time.Second),
			Category: "UserManagement", Activity: "Update user", Result: "success", InitiatedBy: "seed", TargetID: "bob",
			CorrelationID: id, Body: []byte(`{"id":"` + id + `","activityDisplayName":"Update user","result":"success",` +
				`"targetResources":[{"id":"bob","displayName":"record ` + fmt.Sprint(i) + ` of the seed"}]}`)})
	}
	if err := ts.srv.Store().AppendAudit(t.Context(), rows...); err != nil {
		t.Fatal(err)
	}
	first := b.do("GET", ts.base+"/admin/audits?target=bob", nil)
	next := html.UnescapeString(between(first.body, `<p class="pager"><a href="`, `"`))
	if first.status != http.StatusOK || strings.Count(first.body, " of the seed") != 100 || !strings.Contains(first.body, "record 129 of") ||
		!strings.Contains(next, "target=bob") {
		t.Fatalf("the first audit page: %d, %d records, next %q", first.status, strings.Count(first.body, " of the seed"), next)
	}
	second := b.do("GET", ts.base+next, nil)
	if second.status != http.StatusOK || strings.Count(second.body, " of the seed") != 30 || !strings.Contains(second.body, "record 29 of") ||
		strings.Contains(second.body, "record 30 of") || strings.Contains(second.body, `class="pager"`) {
		t.Fatalf("the second audit page: %d, %d records", second.status, strings.Count(second.body, " of the seed"))
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

// csrfOf reads the page's CSRF token (every form carries the same one).
func csrfOf(t *testing.T, body string) string {
	t.Helper()
	v := between(body, `name="csrf" value="`, `"`)
	if v == "" {
		t.Fatal("no CSRF token on the page")
	}
	return v
}

// TestAdminCenterUserActions: a User Administrator resets Alice's password
// (the temporary one shown once, and it works), revokes her sessions,
// disables and enables her, each through the API (audited as the
// administrator); a form without the session's CSRF token does nothing; a
// Reports Reader sees none of the buttons, and posting one anyway is
// refused by the API.
func TestAdminCenterUserActions(t *testing.T) {
	ts := startServer(t, nil)
	admin, _ := ts.withRole("uma", rbac.UserAdministrator)
	b := newBrowser(t, "")
	landing := adminSignIn(t, ts, b, "/admin/users/"+ts.alice.ID, admin.UserPrincipalName, adminTestPassword)
	if landing.status != http.StatusOK || !strings.Contains(landing.body, "Alice Smith") || !strings.Contains(landing.body, "Reset password") {
		t.Fatalf("user page: %d %.500s", landing.status, landing.body)
	}
	csrf := csrfOf(t, landing.body)
	post := func(action, token string) page {
		return b.do("POST", ts.base+"/admin/users/"+ts.alice.ID+"/"+action, url.Values{"csrf": {token}})
	}
	if p := post("disable", "forged"); p.status != http.StatusForbidden {
		t.Fatalf("a form without the session's token: %d", p.status)
	}
	if u, _ := ts.srv.Store().GetUser(t.Context(), ts.tenant.ID, ts.alice.ID); !u.AccountEnabled {
		t.Fatal("a forged form disabled the account")
	}
	reset := post("reset", csrf)
	temp := between(reset.body, "Temporary password: <code>", "</code>")
	if reset.status != http.StatusOK || temp == "" {
		t.Fatalf("reset: %d %.800s", reset.status, reset.body)
	}
	if again := b.do("GET", ts.base+"/admin/users/"+ts.alice.ID, nil); strings.Contains(again.body, temp) {
		t.Fatal("the temporary password is shown again")
	}
	if r := ts.token(passwordForm("alice@contoso.test", temp)); r.status != http.StatusOK && r.errorCode() != 50055 {
		t.Fatalf("the temporary password does not work: %s", r.raw)
	}
	for _, step := range []struct{ action, done string }{
		{"revoke", "Every session and refresh token"}, {"disable", "The account is disabled"}, {"enable", "The account is enabled"},
	} {
		p := post(step.action, csrf)
		if p.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %.300s", step.action, p.status, p.body)
		}
		if shown := b.do("GET", p.location.String(), nil); !strings.Contains(shown.body, step.done) {
			t.Fatalf("%s: the page does not say it was done: %.500s", step.action, shown.body)
		}
	}
	audits, err := ts.srv.Store().QueryAudits(t.Context(), store.AuditQuery{TenantID: ts.tenant.ID, InitiatedBy: admin.ID, Limit: 20})
	if err != nil || len(audits) < 4 {
		t.Fatalf("the actions are not audited as the administrator: %d records, %v", len(audits), err)
	}

	// The audit log page shows the administrator's changes to Alice.
	gb := newBrowser(t, "")
	auditPage := adminSignIn(t, ts, gb, "/admin/audits?target="+ts.alice.ID, "admin@contoso.test", adminPassword)
	if auditPage.status != http.StatusOK || strings.Count(auditPage.body, "uma@contoso.test") < 4 ||
		!strings.Contains(auditPage.body, `href="/admin/audits" aria-current="page"`) {
		t.Fatalf("audit log page: %d %.1500s", auditPage.status, auditPage.body)
	}
	if bad := gb.do("GET", ts.base+"/admin/audits?from=yesterday", nil); bad.status != http.StatusBadRequest ||
		!strings.Contains(bad.body, "Enter a date as YYYY-MM-DD") {
		t.Fatalf("a bad audit filter: %d", bad.status)
	}
	requireAuditPages(t, ts, gb)

	reader, _ := ts.withRole("rory", rbac.ReportsReader)
	rb := newBrowser(t, "")
	rp := adminSignIn(t, ts, rb, "/admin/users/"+ts.alice.ID, reader.UserPrincipalName, adminTestPassword)
	if strings.Contains(rp.body, "Reset password") || strings.Contains(rp.body, `action="/admin/users/`) &&
		!strings.Contains(rp.body, `action="/admin/signout"`) {
		t.Fatalf("a Reports Reader is offered actions: %.800s", rp.body)
	}
	if p := rb.do("POST", ts.base+"/admin/users/"+ts.alice.ID+"/disable", url.Values{"csrf": {csrfOf(t, rp.body)}}); p.status != http.StatusForbidden {
		t.Fatalf("a Reports Reader disabling a user: %d %.300s", p.status, p.body)
	}
	if u, _ := ts.srv.Store().GetUser(t.Context(), ts.tenant.ID, ts.alice.ID); !u.AccountEnabled {
		t.Fatal("the Reports Reader's post disabled the account")
	}
}

// TestAdminCenterProtection: a Global Administrator changes the lockout
// policy with the ETag the form was drawn from (a stale form is refused
// and says why; a non-number is marked on the form), blocks and unblocks
// an address, and adds and removes a named location; a Security Reader
// sees the page without forms, and a block posted anyway is refused.
func TestAdminCenterProtection(t *testing.T) {
	ts := startServer(t, nil)
	b := newBrowser(t, "")
	p := adminSignIn(t, ts, b, "/admin/protection", "admin@contoso.test", adminPassword)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Smart lockout") || !strings.Contains(p.body, "No address is blocked") {
		t.Fatalf("protection page: %d %.800s", p.status, p.body)
	}
	csrf, etag := csrfOf(t, p.body), between(p.body, `name="etag" value="`, `"`)
	policy := func(threshold, etag string) page {
		return b.do("POST", ts.base+"/admin/protection/policy", url.Values{"csrf": {csrf}, "etag": {html.UnescapeString(etag)},
			"threshold": {threshold}, "duration": {"120"}, "maxDuration": {"3600"}, "window": {"3600"}})
	}
	if bad := policy("many", etag); bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "Enter a whole number") {
		t.Fatalf("a non-number threshold: %d", bad.status)
	}
	if saved := policy("5", etag); saved.status != http.StatusSeeOther {
		t.Fatalf("save the policy: %d %.500s", saved.status, saved.body)
	}
	if got, err := ts.srv.Store().GetLockoutPolicy(t.Context(), ts.tenant.ID); err != nil || got.Threshold != 5 || got.Duration != 2*time.Minute {
		t.Fatalf("stored policy: %+v %v", got, err)
	}
	if stale := policy("7", etag); stale.status != http.StatusPreconditionFailed || !strings.Contains(stale.body, "Another administrator changed") {
		t.Fatalf("a stale form: %d %.300s", stale.status, stale.body)
	}

	if blocked := b.do("POST", ts.base+"/admin/protection/blocked", url.Values{"csrf": {csrf}, "prefix": {"203.0.113.77"},
		"reason": {"seen spraying"}, "hours": {"2"}}); blocked.status != http.StatusSeeOther {
		t.Fatalf("block: %d %.500s", blocked.status, blocked.body)
	}
	p = b.do("GET", ts.base+"/admin/protection", nil)
	id := between(p.body, `action="/admin/protection/unblocked/`, `"`)
	if id == "" || !strings.Contains(p.body, "203.0.113.77/32") || !strings.Contains(p.body, "seen spraying") {
		t.Fatalf("the block is not listed: %.1500s", p.body)
	}
	if r := b.do("POST", ts.base+"/admin/protection/unblocked/"+id, url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
		t.Fatalf("unblock: %d", r.status)
	}
	if p = b.do("GET", ts.base+"/admin/protection", nil); strings.Contains(p.body, "203.0.113.77/32") {
		t.Fatal("the revoked block is still listed")
	}

	if r := b.do("POST", ts.base+"/admin/protection/location", url.Values{"csrf": {csrf}, "name": {"Head office"},
		"ranges": {"198.51.100.0/24"}, "trusted": {"on"}}); r.status != http.StatusSeeOther {
		t.Fatalf("add a location: %d %.500s", r.status, r.body)
	}
	p = b.do("GET", ts.base+"/admin/protection", nil)
	loc := between(p.body, `action="/admin/protection/location-deleted/`, `"`)
	if loc == "" || !strings.Contains(p.body, "Head office") || !strings.Contains(p.body, "198.51.100.0/24") {
		t.Fatalf("the location is not listed: %.1500s", p.body)
	}
	if r := b.do("POST", ts.base+"/admin/protection/location-deleted/"+loc, url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
		t.Fatalf("remove the location: %d", r.status)
	}

	reader, _ := ts.withRole("sven", rbac.SecurityReader)
	rb := newBrowser(t, "")
	rp := adminSignIn(t, ts, rb, "/admin/protection", reader.UserPrincipalName, adminTestPassword)
	if rp.status != http.StatusOK || strings.Contains(rp.body, `action="/admin/protection/blocked"`) ||
		!strings.Contains(rp.body, "Smart lockout") {
		t.Fatalf("a Security Reader's protection page: %d %.800s", rp.status, rp.body)
	}
	if r := rb.do("POST", ts.base+"/admin/protection/blocked", url.Values{"csrf": {csrfOf(t, rp.body)},
		"prefix": {"192.0.2.1"}}); r.status != http.StatusForbidden {
		t.Fatalf("a Security Reader blocking: %d", r.status)
	}
}

// TestAdminCenterOverview: after wrong passwords from two addresses lock
// Alice, the overview counts the day's sign-ins and failures, draws a bar
// per hour, ranks the error codes and the failing addresses, and lists
// Alice as locked, linked to her page.
func TestAdminCenterOverview(t *testing.T) {
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Lockout.Threshold = 3
	})
	for i := range 5 {
		ts.token(passwordForm("alice@contoso.test", fmt.Sprint("guess-", i)), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", 1+i%2))
	}
	b := newBrowser(t, "198.51.100.30")
	p := adminSignIn(t, ts, b, "/admin/", "admin@contoso.test", adminPassword)
	if p.status != http.StatusOK || !strings.Contains(p.body, "<h1>Overview</h1>") {
		t.Fatalf("overview: %d %.500s", p.status, p.body)
	}
	if n := strings.Count(p.body, `<rect class="total"`); n != 24 {
		t.Fatalf("%d hourly bars, want 24", n)
	}
	// Refreshing by itself only when asked, and then with a way to stop.
	if strings.Contains(p.body, `hx-trigger="every`) || !strings.Contains(p.body, `href="/admin/?live=1"`) {
		t.Fatal("the overview refreshes without being asked, or offers no way to ask")
	}
	if live := b.do("GET", ts.base+"/admin/?live=1", nil); !strings.Contains(live.body, `hx-trigger="every 30s"`) ||
		!strings.Contains(live.body, `<a href="/admin/">Stop refreshing</a>`) || !strings.Contains(live.body, `id="overview-live"`) {
		t.Fatalf("the refreshing overview:\n%s", live.body)
	}
	// The chart's numbers are also a table, for those who cannot see it.
	hours := between(p.body, `<details class="numbers">`, `</details>`)
	failed := 0
	for _, m := range regexp.MustCompile(`<td>(\d+)</td></tr>`).FindAllStringSubmatch(hours, -1) {
		n, _ := strconv.Atoi(m[1])
		failed += n
	}
	if n := strings.Count(hours, "<tr><td>"); n != 24 || failed != 5 {
		t.Fatalf("the hourly table: %d rows, %d failed\n%s", n, failed, hours)
	}
	for _, want := range []string{`<span class="n">5</span><span class="l">failed</span>`, `href="/admin/signins?errorCode=50126"`,
		`href="/admin/signins?errorCode=50053"`, `href="/admin/users/` + ts.alice.ID + `"`, `href="/admin/signins?ip=203.0.113.1"`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("overview lacks %s:\n%s", want, p.body)
		}
	}
	// An address's link shows that address's sign-ins, not its neighbours'
	// that start the same; a partial address still matches them all.
	ts.token(passwordForm("alice@contoso.test", "guess-x"), "X-Forwarded-For", "203.0.113.10")
	if one := b.do("GET", ts.base+"/admin/signins?ip=203.0.113.1", nil); strings.Count(one.body, "<td class=\"mono\">203.0.113.1</td>") != 3 ||
		strings.Contains(one.body, "203.0.113.10") {
		t.Fatalf("the log of 203.0.113.1:\n%s", one.body)
	}
	if all := b.do("GET", ts.base+"/admin/signins?ip=203.0.113.", nil); !strings.Contains(all.body, "203.0.113.10") ||
		!strings.Contains(all.body, "203.0.113.2") {
		t.Fatal("a partial address does not match the addresses it starts")
	}
}
