package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/admincenter"
	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// TestAdminCenterRefusalsByRole posts every console action as an
// administrator whose roles do not allow it, with a valid session and CSRF
// token (the page's buttons are hidden, but a crafted form is not): each is
// refused by the API with 403, the page says so, and nothing changes. A
// User Administrator on a Global Administrator's page is offered no action
// and told why (administrators are protected from lower ones); a Helpdesk
// Administrator, who may not read roles, is offered them as on any page,
// and refused, so that the page does not tell who the administrators are.
func TestAdminCenterRefusalsByRole(t *testing.T) {
	ts := startServer(t, nil)
	global, _ := ts.withRole("gail", rbac.GlobalAdministrator)

	gb, block, location, policy := protectionFixtures(t, ts, global)
	userPage := "/admin/users/" + ts.alice.ID
	cases := []struct {
		role, page string
		actions    []string
		fields     url.Values
		// shown: the buttons are offered though the API refuses them. A
		// Helpdesk Administrator cannot read roles, so hiding them on an
		// administrator's page would tell who the administrators are.
		shown bool
	}{
		{rbac.GlobalReader, userPage, []string{"unlock", "reset", "revoke", "disable", "enable"}, nil, false},
		{rbac.HelpdeskAdministrator, userPage, []string{"disable", "enable"}, nil, false},
		{rbac.HelpdeskAdministrator, "/admin/users/" + global.ID, []string{"reset", "revoke"}, nil, true}, // Unlock: only when locked
		{rbac.UserAdministrator, "/admin/users/" + global.ID, []string{"unlock", "reset", "revoke", "disable"}, nil, false},
		{rbac.SecurityReader, "/admin/protection", []string{"policy", "blocked", "unblocked/" + block, "location",
			"location-deleted/" + location}, policy, false},
		{rbac.SecurityOperator, userPage, []string{"unlock", "reset", "disable"}, nil, false},
	}
	for i, c := range cases {
		role, _ := rbac.RoleByID(c.role)
		admin, _ := ts.withRole(strings.ToLower(strings.ReplaceAll(role.Name, " ", ""))+string(rune('a'+i)), c.role)
		b := newBrowser(t, "")
		p := adminSignIn(t, ts, b, c.page, admin.UserPrincipalName, adminTestPassword)
		if p.status != http.StatusOK {
			t.Fatalf("%s opening %s: %d", role.Name, c.page, p.status)
		}
		for _, action := range c.actions {
			target := c.page + "/" + action
			if offered := strings.Contains(p.body, `action="`+target+`"`); offered != c.shown {
				t.Errorf("%s offered %s on %s: %v, want %v", role.Name, action, c.page, offered, c.shown)
			}
			form := url.Values{"csrf": {csrfOf(t, p.body)}, "prefix": {"192.0.2.1"}, "name": {"Other"}, "ranges": {"192.0.2.0/24"}}
			for k, v := range c.fields {
				form[k] = v
			}
			r := b.do("POST", ts.base+target, form)
			if r.status != http.StatusForbidden || !strings.Contains(r.body, `role="alert"`) {
				t.Errorf("%s posting %s: %d, want 403 with the reason shown", role.Name, target, r.status)
			}
		}
		told := strings.Contains(p.body, "holds an administrator role that your roles cannot manage")
		if want := c.page == "/admin/users/"+global.ID && !c.shown; told != want {
			t.Errorf("%s on %s told the user is a protected administrator: %v, want %v", role.Name, c.page, told, want)
		}
	}

	requireNothingChanged(t, ts, global, gb)
}

// protectionFixtures has a Global Administrator block an address and add a
// named location through the console, for others to try to undo, and
// returns their browser, the two IDs and a lockout policy form.
func protectionFixtures(t *testing.T, ts *testServer, global store.User) (*browser, string, string, url.Values) {
	t.Helper()
	gb := newBrowser(t, "")
	gp := adminSignIn(t, ts, gb, "/admin/protection", global.UserPrincipalName, adminTestPassword)
	gcsrf := csrfOf(t, gp.body)
	gb.do("POST", ts.base+"/admin/protection/blocked", url.Values{"csrf": {gcsrf}, "prefix": {"203.0.113.9"}, "reason": {"test"}})
	gb.do("POST", ts.base+"/admin/protection/location", url.Values{"csrf": {gcsrf}, "name": {"Office"}, "ranges": {"198.51.100.0/24"}})
	gp = gb.do("GET", ts.base+"/admin/protection", nil)
	block := between(gp.body, `action="/admin/protection/unblocked/`, `"`)
	location := between(gp.body, `action="/admin/protection/location-deleted/`, `"`)
	if block == "" || location == "" {
		t.Fatalf("setup: block %q, location %q", block, location)
	}
	policy := url.Values{"threshold": {"2"}, "duration": {"60"}, "maxDuration": {"600"}, "window": {"600"},
		"etag": {between(gp.body, `name="etag" value="`, `"`)}}
	return gb, block, location, policy
}

// requireNothingChanged: after the refused posts, passwords, the account,
// the block, the location and the policy are as they were.
func requireNothingChanged(t *testing.T, ts *testServer, global store.User, gb *browser) {
	t.Helper()
	if r := ts.token(passwordForm(global.UserPrincipalName, adminTestPassword)); r.status != http.StatusOK {
		t.Fatalf("the Global Administrator's password: %s", r.raw)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword)); r.status != http.StatusOK {
		t.Fatalf("alice's password: %s", r.raw)
	}
	if u, _ := ts.srv.Store().GetUser(t.Context(), ts.tenant.ID, ts.alice.ID); !u.AccountEnabled {
		t.Fatal("alice was disabled")
	}
	after := gb.do("GET", ts.base+"/admin/protection", nil)
	for _, still := range []string{"203.0.113.9/32", "Office", "198.51.100.0/24"} {
		if !strings.Contains(after.body, still) {
			t.Fatalf("%s is gone after refused posts", still)
		}
	}
	if strings.Contains(after.body, "192.0.2.") {
		t.Fatal("a refused post added a block or location")
	}
	if pol, err := ts.srv.Store().GetLockoutPolicy(t.Context(), ts.tenant.ID); err == nil && pol.Threshold == 2 {
		t.Fatal("a Security Reader changed the lockout policy")
	}
}

// TestAdminCenterCallbackFollowsPublicURL: at every start the admin
// center's client has exactly this server's callback; one left from an
// earlier public URL (a domain given up) is removed.
func TestAdminCenterCallbackFollowsPublicURL(t *testing.T) {
	ctx := context.Background()
	cfg := fastConfig(t)
	db, err := app.OpenConfiguredStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.Initialise(ctx, db, cfg, app.InitOptions{Domain: "contoso.test", AdminPassword: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	old := []string{"https://idp.old-domain.example/admin/callback"}
	db.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for round := range 2 {
		srv, err := app.Start(ctx, cfg, io.Discard, logger)
		if err != nil {
			t.Fatal(err)
		}
		client, err := srv.Store().GetApp(ctx, admincenter.ClientID)
		if err != nil || !slices.Equal(client.RedirectURIs, []string{srv.BaseURL() + admincenter.CallbackPath}) {
			t.Fatalf("round %d: the admin center's redirect URIs %v (%v)", round, client.RedirectURIs, err)
		}
		if round == 0 { // as if the public URL had been another
			if _, _, err := app.DirectoryService(srv.Store(), cfg).UpdateApp(ctx, res.Tenant.ID, admincenter.ClientID,
				directory.AppChange{RedirectURIs: &old}); err != nil {
				t.Fatal(err)
			}
		}
		srv.Shutdown(ctx)
	}
}
