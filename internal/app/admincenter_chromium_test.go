package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/rbac"
)

// consoleErrors collects what the page logs as errors (script errors, CSP
// violations, failed loads) for the test to require none.
func (c *chrome) consoleErrors() func() []string {
	var mu sync.Mutex
	var errs []string
	chromedp.ListenTarget(c.ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.LevelError {
				errs = append(errs, e.Entry.Text+" "+e.Entry.URL)
			}
		case *runtime.EventExceptionThrown:
			errs = append(errs, e.ExceptionDetails.Text)
		}
	})
	c.run(cdplog.Enable(), runtime.Enable())
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// signInAs types the credentials into the hosted sign-in page and waits
// for ready, a part of the console page it leads to.
func signInAs(user, pw, ready string) chromedp.Action {
	return chromedp.Tasks{chromedp.SetValue(`#username`, user), chromedp.SendKeys(`#password`, pw),
		chromedp.Click(`button.primary`), chromedp.WaitVisible(ready)}
}

// requireNoReload fails the test if the page was loaded in full since the
// marker was set (htmx should have swapped a part), or if the address bar
// does not show what was done (the link must still be shareable).
func (c *chrome) requireNoReload(step, inURL string) {
	c.t.Helper()
	var marker, href string
	c.run(chromedp.Evaluate(`window.pcMarker || ""`, &marker), chromedp.Location(&href))
	if marker != "still here" {
		c.t.Fatalf("%s loaded the whole page", step)
	}
	if !strings.Contains(href, inURL) {
		c.t.Fatalf("after %s the address is %s, not one with %s", step, href, inURL)
	}
}

// TestAdminCenterWithChromium walks the seed's troubleshooting path in a
// real browser: Alice's account is locked by wrong passwords from
// unfamiliar addresses through the token endpoint; a Cloud Application
// Administrator opens the admin center, signs in, filters the sign-in logs
// by Alice and error code 50053, opens the record and reads the failure
// reason; a Helpdesk Administrator then finds Alice under Users, sees the
// "Locked until" banner, unlocks her, and she signs in. Every page is
// screenshotted (go test -artifacts) and none may log an error to the
// console.
func TestAdminCenterWithChromium(t *testing.T) {
	path := chromium(t)
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Lockout.Threshold = 3
	})
	for i := range 4 {
		ts.token(passwordForm("alice@contoso.test", fmt.Sprint("guess-", i)), "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "203.0.113.50"); r.errorCode() != 50053 {
		t.Fatalf("alice is not locked: %s", r.raw)
	}

	cloudAppAdminFindsWhy(t, ts, path)
	helpdeskUnlocks(t, ts, path)
	globalAdminByKeyboard(t, ts, path)
	liveOverviewRefreshes(t, ts, path)
}

// liveOverviewRefreshes: the refreshing overview swaps its counts, and
// nothing else, every 30 seconds, but not while the reader has the table
// of numbers open; links in the counts still open their pages. The
// browser's virtual time runs the 30 seconds at once: it advances (pausing
// while a request is in flight) until the budget is spent, then stops, and
// the page is read as it is then.
func liveOverviewRefreshes(t *testing.T, ts *testServer, path string) {
	t.Helper()
	l := newChrome(t, path, "198.51.100.23")
	errs := l.consoleErrors()
	spent := make(chan struct{}, 1)
	chromedp.ListenTarget(l.ctx, func(ev any) {
		if _, ok := ev.(*emulation.EventVirtualTimeBudgetExpired); ok {
			spent <- struct{}{}
		}
	})
	l.run(chromedp.Navigate(ts.base+"/admin/?live=1"), chromedp.WaitVisible(`#password`),
		signInAs("admin@contoso.test", adminPassword, `#overview-live .tiles`),
		chromedp.Click(`#overview-live a[href^="/admin/signins?errorCode="]`),
		chromedp.WaitVisible(`nav.side a[href="/admin/signins"][aria-current=page]`))
	wait30s := func(state *string) {
		l.run(chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := emulation.SetVirtualTimePolicy(emulation.VirtualTimePolicyPauseIfNetworkFetchesPending).WithBudget(31000).Do(ctx)
			return err
		}))
		select {
		case <-spent:
		case <-time.After(30 * time.Second):
			t.Fatal("the browser's virtual 31 seconds did not pass")
		}
		l.run(chromedp.Evaluate(`(document.querySelector("#overview-live").pcOld ? "not refreshed" : "refreshed") + ", " +
			(document.querySelector("nav.side").pcOld ? "menu kept" : "menu replaced") + ", " +
			(document.querySelector("#overview-live .tiles") ? "counts shown" : "counts lost")`, state))
	}
	var state string
	mark := chromedp.Evaluate(`document.querySelector("#overview-live").pcOld = true; document.querySelector("nav.side").pcOld = true`, nil)
	l.run(chromedp.Navigate(ts.base+"/admin/?live=1"), chromedp.WaitVisible(`#overview-live .tiles`), mark)
	if wait30s(&state); state != "refreshed, menu kept, counts shown" {
		t.Fatalf("after 30 seconds the overview is %s", state)
	}
	l.run(chromedp.Evaluate(`document.querySelector("#overview-live details.numbers").open = true`, nil), mark)
	if wait30s(&state); state != "not refreshed, menu kept, counts shown" {
		t.Fatalf("with the numbers open, after 30 seconds the overview is %s", state)
	}
	if e := errs(); len(e) > 0 {
		t.Fatalf("console errors: %q", e)
	}
}

// cloudAppAdminFindsWhy: the seed's path, from signing in to the
// record's Protection tab, every step after the first a partial update.
func cloudAppAdminFindsWhy(t *testing.T, ts *testServer, path string) {
	t.Helper()
	admin, _ := ts.withRole("carol", rbac.CloudApplicationAdministrator)

	c := newChrome(t, path, "198.51.100.20")
	errs := c.consoleErrors()
	c.run(chromedp.Navigate(ts.base+"/admin"), chromedp.WaitVisible(`#password`))
	c.shoot("admin-01-sign-in")
	c.run(signInAs(admin.UserPrincipalName, adminTestPassword, `.tiles`))
	c.shoot("admin-02-overview")
	// From here on the console loads by htmx: a marker left on the window
	// survives only if no page is loaded in full.
	c.run(chromedp.Evaluate(`window.pcMarker = "still here"`, nil))
	c.run(chromedp.Click(`nav.side a[href="/admin/signins"]`), chromedp.WaitVisible(`form.filters`))
	c.shoot("admin-02-sign-in-logs")
	c.run(chromedp.SetValue(`#f-user`, "alice@contoso.test"), chromedp.SetValue(`#f-code`, "50053"),
		// The results region names the filter it was drawn with: waiting
		// for it waits for the new results, not the ones typed over.
		chromedp.Click(`form.filters button[type=submit]`), chromedp.WaitVisible(`#log-results[data-filter*="errorCode=50053"]`))
	var rows int
	c.run(chromedp.Evaluate(`document.querySelectorAll("table.log tbody a[href^='/admin/signins/']").length`, &rows))
	if rows == 0 {
		t.Fatal("no 50053 sign-ins for alice in the filtered log")
	}
	c.requireNoReload("filtering", "errorCode=50053")
	c.shoot("admin-03-filtered")
	c.run(chromedp.Click(`table.log tbody a[href^='/admin/signins/']`), chromedp.WaitVisible(`section.detail`))
	var reason string
	c.run(chromedp.Text(`section.detail`, &reason))
	if !strings.Contains(reason, "50053") || !strings.Contains(strings.ToLower(reason), "locked") {
		t.Fatalf("the record's details do not say why: %q", reason)
	}
	// Focus moves to the details once htmx settles them, as a reader
	// needs; the settle comes a moment after the swap.
	c.run(chromedp.Poll(`document.activeElement.id === "detail-title"`, nil, chromedp.WithPollingTimeout(10*time.Second)))
	c.requireNoReload("opening a record", "/admin/signins/")
	c.shoot("admin-04-record")
	c.run(chromedp.Click(`nav.tabs a:last-child`), chromedp.WaitVisible(`nav.tabs a:last-child[aria-current=page]`))
	c.requireNoReload("changing tabs", "tab=protection")
	c.shoot("admin-05-protection")
	if e := errs(); len(e) > 0 {
		t.Fatalf("console errors: %q", e)
	}

}

// helpdeskUnlocks: a Helpdesk Administrator finds Alice by typing, sees the
// lock (also at phone width) and unlocks it; Alice then signs in.
func helpdeskUnlocks(t *testing.T, ts *testServer, path string) {
	t.Helper()
	helpdesk, _ := ts.withRole("harry", rbac.HelpdeskAdministrator)
	h := newChrome(t, path, "198.51.100.21")
	herrs := h.consoleErrors()
	h.run(chromedp.Navigate(ts.base+"/admin/users"), chromedp.WaitVisible(`#password`),
		signInAs(helpdesk.UserPrincipalName, adminTestPassword, `form.search`),
		chromedp.Evaluate(`window.pcMarker = "still here"`, nil),
		// Typing is enough: the list follows it.
		chromedp.SendKeys(`#q`, "alice"), chromedp.WaitVisible(`#user-results[data-search="alice"]`))
	h.requireNoReload("searching", "q=alice")
	h.shoot("admin-06-users")
	h.run(chromedp.Click(`table.log tbody a`), chromedp.WaitVisible(`.toolbar`))
	var banner string
	h.run(chromedp.Text(`.banner.locked`, &banner))
	if !strings.Contains(banner, "Locked until") || !strings.Contains(banner, "unfamiliar sources") {
		t.Fatalf("the user page's banner: %q", banner)
	}
	h.shoot("admin-07-user-locked")
	// On a phone the page rearranges rather than running off the side
	// (wide tables scroll inside their own box).
	var overflow bool
	h.run(chromedp.EmulateViewport(390, 844), chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow))
	if overflow {
		t.Fatal("the user page is wider than a phone's screen")
	}
	h.shoot("admin-07b-user-phone")
	h.run(chromedp.EmulateViewport(1280, 900))
	h.run(chromedp.Click(`form[action$="/unlock"] button`), chromedp.WaitVisible(`.notice.ok`))
	h.requireNoReload("unlocking", "done=unlocked")
	var locked int
	h.run(chromedp.Evaluate(`document.querySelectorAll(".banner.locked").length`, &locked))
	if locked != 0 {
		t.Fatal("still shown locked after the unlock")
	}
	h.shoot("admin-08-user-unlocked")
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "203.0.113.60"); r.status != 200 {
		t.Fatalf("alice after the unlock: %s", r.raw)
	}
	if e := herrs(); len(e) > 0 {
		t.Fatalf("console errors: %q", e)
	}

}

// globalAdminByKeyboard: a Global Administrator's protection and audit
// pages, reached by keyboard; then the session ends mid-use.
func globalAdminByKeyboard(t *testing.T, ts *testServer, path string) {
	t.Helper()
	g := newChrome(t, path, "198.51.100.22")
	gerrs := g.consoleErrors()
	g.run(chromedp.Navigate(ts.base+"/admin/protection"), chromedp.WaitVisible(`#password`),
		signInAs("admin@contoso.test", adminPassword, `#h-policy`))
	g.shoot("admin-09-protection")
	// By keyboard: the first Tab reaches the skip link; a section's link
	// opens with Enter, and focus lands on the new page's content.
	var first string
	g.run(chromedp.KeyEvent(kb.Tab), chromedp.Evaluate(`document.activeElement.className`, &first))
	if first != "skip" {
		t.Fatalf("the first Tab stop is %q, not the skip link", first)
	}
	g.run(chromedp.Focus(`nav.side a[href="/admin/audits"]`), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(`#a-activity`),
		chromedp.Poll(`document.activeElement.id === "main"`, nil, chromedp.WithPollingTimeout(10*time.Second)))
	g.shoot("admin-10-audit-logs")

	// The dark scheme (the system's preference) keeps every page readable:
	// axe checks its contrast like the light one's.
	g.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}))
	for i, page := range []struct{ path, ready string }{
		{"/admin/", ".tiles"}, {"/admin/signins?user=alice%40contoso.test", "#log-results"},
		{"/admin/users/" + ts.alice.ID, ".toolbar"}, {"/admin/protection", "#h-policy"},
	} {
		g.run(chromedp.Navigate(ts.base+page.path), chromedp.WaitVisible(page.ready))
		g.shoot(fmt.Sprintf("admin-%d-dark", 11+i))
	}
	g.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
		chromedp.Navigate(ts.base+"/admin/audits"), chromedp.WaitVisible(`#a-activity`))

	// The session ends (here: its cookies are gone). The next click must
	// take the whole window to the sign-in page, not draw that page inside
	// the console, and signing in again comes back to where it was going.
	var signInPage bool
	g.run(network.ClearBrowserCookies(), chromedp.Click(`nav.side a[href="/admin/users"]`), chromedp.WaitVisible(`#password`),
		chromedp.Evaluate(`document.querySelector("nav.side") === null && document.querySelector("main#main") === null`, &signInPage))
	if !signInPage {
		t.Fatal("the sign-in page was drawn inside the console")
	}
	g.run(signInAs("admin@contoso.test", adminPassword, `form.search`))
	if e := gerrs(); len(e) > 0 {
		t.Fatalf("console errors: %q", e)
	}
}
