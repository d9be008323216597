package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// chromium finds Debian's chromium, or skips (fails under CI=true, where
// .ci/run installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (CI=true: .ci/run installs it)")
	}
	t.Skip("chromium is not installed; install Debian's chromium to run the browser tests")
	return ""
}

// chrome is one browser with its own profile (cookies), sending requests as
// if from ip (the test server trusts 127.0.0.1 as a proxy).
type chrome struct {
	t   *testing.T
	ctx context.Context
}

func newChrome(t *testing.T, path, ip string) *chrome {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "en-US"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	c := &chrome{t: t, ctx: ctx}
	c.setIP(ip)
	return c
}

func (c *chrome) setIP(ip string) {
	c.t.Helper()
	c.run(network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"X-Forwarded-For": ip}))
}

func (c *chrome) run(actions ...chromedp.Action) {
	c.t.Helper()
	if err := chromedp.Run(c.ctx, actions...); err != nil {
		c.t.Fatal(err)
	}
}

// screenshot saves the page as name.png among the test's artifacts.
func (c *chrome) screenshot(name string) {
	c.t.Helper()
	var png []byte
	c.run(chromedp.FullScreenshot(&png, 100)) // 100: PNG
	if err := os.WriteFile(filepath.Join(c.t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// signIn opens authURL, types the credentials and submits; then waits for
// the app's page (#callback) or the sign-in page's alert.
func (c *chrome) signIn(authURL, user, pw, shot string) (gotIn bool) {
	c.t.Helper()
	c.run(chromedp.Navigate(authURL), chromedp.WaitVisible(`#password`))
	if shot != "" {
		c.shoot(shot)
	}
	c.run(chromedp.SetValue(`#username`, user), chromedp.SendKeys(`#password`, pw), chromedp.Click(`button.primary`))
	var where string
	c.run(chromedp.WaitVisible(`#callback, .alert, #new`), chromedp.Evaluate(`document.querySelector("#callback") ? "app" :
		document.querySelector("#new") ? "change" : "alert"`, &where))
	return where == "app"
}

// TestBrowserSignInWithChromium signs in through the hosted pages in a real
// browser: a sign-in; an attacker's wrong passwords locking the account from
// unfamiliar addresses while the user's own browser, holding its device
// cookie, still gets in from a new network; a forced password change; the
// error page. Screenshots of every page go to the test's artifact directory
// (go test -artifacts -outputdir DIR).
func TestBrowserSignInWithChromium(t *testing.T) {
	path := chromium(t)
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Lockout.Threshold = 3
	})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>Expenses</title><p id="callback">Signed in (code %t)</p>`, r.URL.Query().Get("code") != "")
	}))
	defer app.Close()
	f := newCodeFlow(t, ts, false, app.URL+"/cb")
	authURL := f.conf.AuthCodeURL("st")

	mine := newChrome(t, path, "198.51.100.7")
	if !mine.signIn(authURL, "alice@contoso.test", alicePassword, "01-signin") {
		t.Fatal("alice's first sign-in did not reach the app")
	}
	attacker := newChrome(t, path, "203.0.113.9")
	for i := range 4 {
		if attacker.signIn(authURL, "alice@contoso.test", fmt.Sprint("guess-", i), "") {
			t.Fatal("a wrong password got in")
		}
	}
	attacker.shoot("02-wrong-password")
	stranger := newChrome(t, path, "192.0.2.10")
	stranger.run(chromedp.EmulateViewport(390, 844), chromedp.Navigate(authURL), chromedp.WaitVisible(`#password`))
	stranger.shoot("02b-signin-phone")
	if stranger.signIn(authURL, "alice@contoso.test", alicePassword, "") {
		t.Fatal("a browser without the device cookie got into the locked account")
	}
	mine.setIP("192.0.2.55")
	if !mine.signIn(authURL+"&prompt=login", "alice@contoso.test", alicePassword, "") {
		mine.shoot("03-device-cookie-refused")
		t.Fatal("alice's own browser (device cookie) was locked out with the attacker")
	}

	if _, err := ts.dir.AddUser(context.Background(), ts.tenant, directory.NewUser{UserPrincipalName: "erin@contoso.test",
		DisplayName: "Erin", Password: "first-day-temporary-71", AccountEnabled: true, ForceChangePasswordNextSignIn: true}); err != nil {
		t.Fatal(err)
	}
	newcomer := newChrome(t, path, "198.51.100.20")
	if newcomer.signIn(authURL, "erin@contoso.test", "first-day-temporary-71", "") {
		t.Fatal("a forced change was skipped")
	}
	newcomer.shoot("04-change-password")
	var landed bool
	newcomer.run(chromedp.SendKeys(`#new`, "Quiet-Harbour-Lamp-81"), chromedp.SendKeys(`#confirm`, "Quiet-Harbour-Lamp-81"),
		chromedp.Click(`button.primary`), chromedp.WaitVisible(`#callback`),
		chromedp.Evaluate(`document.querySelector("#callback") !== null`, &landed))
	if !landed {
		t.Fatal("the password change did not reach the app")
	}

	var details string
	newcomer.run(chromedp.Navigate(strings.Replace(authURL, "redirect_uri=", "redirect_uri=https%3A%2F%2Fevil.example%2F&x=", 1)),
		chromedp.WaitVisible(`details summary`), chromedp.Click(`details summary`), chromedp.Text(`details dl`, &details))
	newcomer.shoot("05-error")
	var reference string
	newcomer.run(chromedp.Click(`details dd a`), chromedp.WaitVisible(`ol.steps`), chromedp.Text(`main`, &reference))
	newcomer.shoot("06-error-reference")
	if !strings.Contains(reference, "AADSTS50011") || !strings.Contains(reference, "What to do") {
		t.Fatalf("the error code's reference page: %q", reference)
	}
	if !strings.Contains(details, "AADSTS50011") || !strings.Contains(details, "Correlation ID") {
		t.Fatalf("error page details: %q", details)
	}
	rows, err := ts.srv.Store().FindSignIns(context.Background(), store.SignInFilter{TenantID: ts.tenant.ID, Limit: 100})
	if err != nil || len(rows) < 8 {
		t.Fatalf("sign-in log after the browser session: %d records, %v", len(rows), err)
	}
}
