package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

const adminTestPassword = "Copper-Lantern-4821!"

// withRole creates an enabled user holding roles and returns it with a
// Graph access token from the password grant.
func (ts *testServer) withRole(name string, roles ...string) (store.User, string) {
	ts.t.Helper()
	u := ts.addUser(name+"@contoso.test", name, adminTestPassword, true)
	for _, r := range roles {
		ts.assign(u.ID, r)
	}
	return u, ts.accessToken(u.UserPrincipalName)
}

func (ts *testServer) assign(principalID, role string) {
	ts.t.Helper()
	err := ts.srv.Store().CreateRoleAssignment(context.Background(), store.RoleAssignment{ID: uuid.NewString(),
		TenantID: ts.tenant.ID, PrincipalID: principalID, RoleDefinitionID: role, DirectoryScopeID: "/",
		CreatedAt: time.Now()})
	if err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testServer) accessToken(upn string) string {
	ts.t.Helper()
	r := ts.token(passwordForm(upn, adminTestPassword))
	tok, _ := r.body["access_token"].(string)
	if r.status != http.StatusOK || tok == "" {
		ts.t.Fatalf("sign-in of %s: %d %s", upn, r.status, r.raw)
	}
	return tok
}

// api calls the admin API with a bearer token ("" = none).
func (ts *testServer) api(method, path, token, body string) response {
	ts.t.Helper()
	req, _ := http.NewRequest(method, ts.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return ts.do(req)
}

func graphCode(r response) string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// TestAdminRBACMatrix walks every route of the rbac table with a principal
// of every role (and one with none): a route is allowed exactly when the
// table says so. Denied calls get Graph's 403 body; allowed ones never do.
func TestAdminRBACMatrix(t *testing.T) {
	ts := startServer(t, nil)
	target := ts.addUser("target@contoso.test", "Target", adminTestPassword, true)
	type caller struct {
		name  string
		roles []string
		token string
	}
	callers := []caller{{name: "norole"}}
	for _, r := range rbac.Roles() {
		callers = append(callers, caller{name: strings.ReplaceAll(strings.ToLower(r.Name), " ", ""), roles: []string{r.ID}})
	}
	for i := range callers {
		_, callers[i].token = ts.withRole(callers[i].name, callers[i].roles...)
	}
	for _, route := range rbac.Routes {
		for _, c := range callers {
			path := strings.ReplaceAll(route.Pattern, "{id}", target.ID)
			body := ""
			switch route.Method + " " + route.Pattern {
			case "POST /v1.0/roleManagement/directory/roleAssignments":
				body = fmt.Sprintf(`{"principalId":%q,"roleDefinitionId":%q,"directoryScopeId":"/"}`, target.ID, rbac.ReportsReader)
			case "DELETE /v1.0/roleManagement/directory/roleAssignments/{id}":
				path = strings.ReplaceAll(route.Pattern, "{id}", uuid.NewString())
			case "DELETE /v1.0/users/{id}": // a fresh victim each time: the target is needed by later routes
				victim := ts.addUser(uuid.NewString()[:8]+"@contoso.test", "Victim", adminTestPassword, true)
				path = strings.ReplaceAll(route.Pattern, "{id}", victim.ID)
			}
			r := ts.api(route.Method, path, c.token, body)
			want := route.Permission == "" || rbac.Allowed(c.roles, route.Permission)
			denied := r.status == http.StatusForbidden
			if r.status == http.StatusUnauthorized || denied == want {
				t.Errorf("%s %s as %s: %d %s (allowed by the table: %v)", route.Method, route.Pattern, c.name, r.status, r.raw, want)
			}
			if denied && graphCode(r) != "Authorization_RequestDenied" {
				t.Errorf("%s %s as %s: 403 without Graph's error body: %s", route.Method, route.Pattern, c.name, r.raw)
			}
		}
	}
}

// TestAdminTokenChecks: the API refuses missing, malformed, wrong-audience,
// revoked and disabled-user tokens with 401 and Graph's error body.
func TestAdminTokenChecks(t *testing.T) {
	ts := startServer(t, nil)
	u, tok := ts.withRole("reader", rbac.GlobalReader)
	if r := ts.api("GET", "/v1.0/users", tok, ""); r.status != http.StatusOK {
		t.Fatalf("valid token: %d %s", r.status, r.raw)
	}
	form := passwordForm(u.UserPrincipalName, adminTestPassword)
	form.Set("scope", "api://"+ts.conf.ClientID+"/.default")
	other := ts.token(form)
	otherTok, _ := other.body["access_token"].(string)
	if otherTok == "" {
		t.Fatalf("token for another audience: %s", other.raw)
	}
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	for name, bad := range map[string]string{"none": "", "garbage": "not-a-jwt", "other audience": otherTok,
		"bad signature": tampered} {
		r := ts.api("GET", "/v1.0/users", bad, "")
		if r.status != http.StatusUnauthorized || graphCode(r) != "InvalidAuthenticationToken" ||
			!strings.Contains(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	// Revoking sessions stops tokens issued before; a new sign-in works.
	u.SignInSessionsValidFrom = time.Now().Add(2 * time.Second)
	if err := ts.srv.Store().UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if r := ts.api("GET", "/v1.0/users", tok, ""); r.status != http.StatusUnauthorized || !strings.Contains(r.raw, "revoked") {
		t.Fatalf("revoked token: %d %s", r.status, r.raw)
	}
	u.SignInSessionsValidFrom = time.Time{}
	u.AccountEnabled = false
	if err := ts.srv.Store().UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if r := ts.api("GET", "/v1.0/users", tok, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("disabled user's token: %d %s", r.status, r.raw)
	}
}

// TestAdminEscalationRefusedAndAudited: lower administrators cannot raise
// themselves or touch higher ones; each refusal is in the audit log, and so
// is each change that went through.
func TestAdminEscalationRefusedAndAudited(t *testing.T) {
	ts := startServer(t, nil)
	ua, uaTok := ts.withRole("useradmin", rbac.UserAdministrator)
	ga, gaTok := ts.withRole("globaladmin", rbac.GlobalAdministrator)
	_, hdTok := ts.withRole("helpdesk", rbac.HelpdeskAdministrator)
	plain := ts.addUser("plain@contoso.test", "Plain", adminTestPassword, true)

	self := fmt.Sprintf(`{"principalId":%q,"roleDefinitionId":%q,"directoryScopeId":"/"}`, ua.ID, rbac.GlobalAdministrator)
	minuteBefore := time.Now().UTC().Truncate(time.Minute)
	for range 3 { // repeated: refused every time, audited once per minute
		if r := ts.api("POST", "/v1.0/roleManagement/directory/roleAssignments", uaTok, self); r.status != http.StatusForbidden {
			t.Fatalf("User Administrator making themselves Global Administrator: %d %s", r.status, r.raw)
		}
	}
	wantRefusals := 2 // the three attempts above, then the helpdesk's
	if !time.Now().UTC().Truncate(time.Minute).Equal(minuteBefore) {
		wantRefusals = 3 // the attempts straddled a minute boundary: two records for them
	}
	if r := ts.api("POST", "/v1.0/portcullis/users/"+ga.ID+"/lockout/unlock", hdTok, ""); r.status != http.StatusForbidden {
		t.Fatalf("Helpdesk Administrator unlocking a Global Administrator: %d %s", r.status, r.raw)
	}
	if r := ts.api("POST", "/v1.0/portcullis/users/"+plain.UserPrincipalName+"/lockout/unlock", hdTok, `{"reason":"ticket 42"}`); r.status != http.StatusNoContent {
		t.Fatalf("Helpdesk Administrator unlocking a plain user: %d %s", r.status, r.raw)
	}
	if r := ts.api("POST", "/v1.0/roleManagement/directory/roleAssignments", gaTok,
		fmt.Sprintf(`{"principalId":%q,"roleDefinitionId":%q,"directoryScopeId":"/","extra":1}`, plain.ID, rbac.ReportsReader)); r.status != http.StatusBadRequest {
		t.Fatalf("unknown JSON field: %d %s", r.status, r.raw)
	}
	audits := ts.api("GET", "/v1.0/auditLogs/directoryAudits", gaTok, "")
	values, _ := audits.body["value"].([]any)
	var failures, unlocks int
	for _, v := range values {
		a := v.(map[string]any)
		if a["result"] == "failure" {
			failures++
		}
		if a["activityDisplayName"] == "Unlock user" && a["result"] == "success" {
			unlocks++
			by := a["initiatedBy"].(map[string]any)["user"].(map[string]any)
			if by["userPrincipalName"] != "helpdesk@contoso.test" {
				t.Errorf("unlock initiated by %v", by)
			}
		}
	}
	if failures != wantRefusals || unlocks != 1 {
		t.Fatalf("audit log has %d refusals and %d unlocks, want %d and 1: %s", failures, unlocks, wantRefusals, audits.raw)
	}
}

// TestAdminLastGlobalAdministratorStays: the tenant can never remove its
// last Global Administrator assignment through the API.
func TestAdminLastGlobalAdministratorStays(t *testing.T) {
	ts := startServer(t, nil)
	adminUser, err := ts.srv.Store().UserByLogin(context.Background(), ts.tenant.ID, "admin@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	r := ts.token(passwordForm("admin@contoso.test", adminPassword))
	tok, _ := r.body["access_token"].(string)
	list := ts.api("GET", "/v1.0/roleManagement/directory/roleAssignments?$filter="+
		url.QueryEscape("principalId eq '"+adminUser.ID+"'"), tok, "")
	values, _ := list.body["value"].([]any)
	if len(values) != 1 {
		t.Fatalf("the initial administrator's assignments: %s", list.raw)
	}
	id := values[0].(map[string]any)["id"].(string)
	if r := ts.api("DELETE", "/v1.0/roleManagement/directory/roleAssignments/"+id, tok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("removing the last Global Administrator: %d %s", r.status, r.raw)
	}
	_, _ = ts.withRole("second", rbac.GlobalAdministrator)
	if r := ts.api("DELETE", "/v1.0/roleManagement/directory/roleAssignments/"+id, tok, ""); r.status != http.StatusNoContent {
		t.Fatalf("removing one of two Global Administrators: %d %s", r.status, r.raw)
	}
}

// TestAdminConcurrentUpdatesWithIfMatch: eight administrators update the
// same user at once, each with the ETag they read: exactly one wins, the
// others get 412 and nothing of theirs is stored.
func TestAdminConcurrentUpdatesWithIfMatch(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("useradmin", rbac.UserAdministrator)
	target := ts.addUser("target@contoso.test", "Target", adminTestPassword, true)
	read := ts.api("GET", "/v1.0/users/"+target.ID, tok, "")
	etag := read.header.Get("ETag")
	if read.status != http.StatusOK || etag == "" {
		t.Fatalf("read: %d %q %s", read.status, etag, read.raw)
	}
	const writers = 8
	statuses := make(chan int, writers)
	for i := range writers {
		go func() {
			req, _ := http.NewRequest("PATCH", ts.base+"/v1.0/users/"+target.ID,
				strings.NewReader(fmt.Sprintf(`{"displayName":"Name %d"}`, i)))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("If-Match", etag)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	won, lost := 0, 0
	for range writers {
		switch s := <-statuses; s {
		case http.StatusNoContent:
			won++
		case http.StatusPreconditionFailed:
			lost++
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if won != 1 || lost != writers-1 {
		t.Fatalf("%d updates applied and %d refused, want 1 and %d", won, lost, writers-1)
	}
	after := ts.api("GET", "/v1.0/users/"+target.ID, tok, "")
	if after.header.Get("ETag") == etag || !strings.HasPrefix(after.body["displayName"].(string), "Name ") {
		t.Fatalf("after the race: %s (etag %s)", after.raw, after.header.Get("ETag"))
	}
	stale := ts.api("PATCH", "/v1.0/users/"+target.ID, tok, `{"displayName":"Late"}`)
	if stale.status != http.StatusNoContent {
		t.Fatalf("PATCH without If-Match: %d %s", stale.status, stale.raw)
	}
}

// TestAdminResetPasswordAndRevokeSessions: a Helpdesk Administrator resets a
// user's password: the temporary password is returned once, the old
// password stops working at once, the temporary one must be changed
// (AADSTS50055), and tokens issued before are revoked.
func TestAdminResetPasswordAndRevokeSessions(t *testing.T) {
	ts := startServer(t, nil)
	_, hdTok := ts.withRole("helpdesk", rbac.HelpdeskAdministrator)
	user, userTok := ts.withRole("employee")
	if r := ts.api("GET", "/v1.0/me", userTok, ""); r.status != http.StatusOK {
		t.Fatalf("/me before: %d %s", r.status, r.raw)
	}
	reset := ts.api("POST", "/v1.0/users/"+user.ID+"/authentication/methods/"+rbac.PasswordMethodID+"/resetPassword", hdTok, "")
	temp, _ := reset.body["newPassword"].(string)
	if reset.status != http.StatusAccepted || len(temp) != 20 || reset.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reset: %d %s", reset.status, reset.raw)
	}
	if r := ts.token(passwordForm(user.UserPrincipalName, adminTestPassword)); r.errorCode() != 50126 {
		t.Fatalf("old password after reset: %d %s", r.status, r.raw)
	}
	if r := ts.token(passwordForm(user.UserPrincipalName, temp)); r.errorCode() != 50055 {
		t.Fatalf("temporary password: %d %s", r.status, r.raw)
	}
	if r := ts.api("GET", "/v1.0/me", userTok, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("token issued before the reset: %d %s", r.status, r.raw)
	}
	// Revoking sessions works the same way on its own.
	other, otherTok := ts.withRole("other")
	if r := ts.api("POST", "/v1.0/users/"+other.ID+"/revokeSignInSessions", hdTok, ""); r.status != http.StatusOK || r.body["value"] != true {
		t.Fatalf("revokeSignInSessions: %d %s", r.status, r.raw)
	}
	if r := ts.api("GET", "/v1.0/me", otherTok, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("token after revokeSignInSessions: %d %s", r.status, r.raw)
	}
	// A new token is accepted once its issue time (whole seconds) is not
	// before the revocation time; within the revoking second it is refused.
	fresh := ts.accessToken(other.UserPrincipalName)
	stored, err := ts.srv.Store().GetUser(context.Background(), ts.tenant.ID, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := http.StatusUnauthorized
	if !issuedAt(t, fresh).Before(stored.SignInSessionsValidFrom) {
		want = http.StatusOK
	}
	if r := ts.api("GET", "/v1.0/me", fresh, ""); r.status != want {
		t.Fatalf("token issued at %v, sessions valid from %v: %d, want %d", issuedAt(t, fresh), stored.SignInSessionsValidFrom, r.status, want)
	}
}

// issuedAt reads a JWT's iat without verifying it (the server does that).
func issuedAt(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		IAT int64 `json:"iat"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return time.Unix(c.IAT, 0)
}

// TestAdminIPBlocksAndPolicy: a Security Operator blocks an address through
// the API and sign-ins from it are refused at once with AADSTS50053; a
// Security Reader sees the block but cannot lift it; the operator lifts it.
// A Security Administrator's policy change applies to the next attempt.
func TestAdminIPBlocksAndPolicy(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	_, opTok := ts.withRole("secop", rbac.SecurityOperator)
	_, readerTok := ts.withRole("secreader", rbac.SecurityReader)
	_, adminTok := ts.withRole("secadmin", rbac.SecurityAdministrator)
	from := []string{"X-Forwarded-For", "203.0.113.45"}

	created := ts.api("POST", "/v1.0/portcullis/ipBlocks", opTok, `{"prefix":"203.0.113.0/24","reason":"spray from this range"}`)
	id, _ := created.body["id"].(string)
	if created.status != http.StatusCreated || id == "" {
		t.Fatalf("block: %d %s", created.status, created.raw)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), from...); r.errorCode() != 50053 {
		t.Fatalf("sign-in from the blocked range: %d %s", r.status, r.raw)
	}
	list := ts.api("GET", "/v1.0/portcullis/ipBlocks?$filter="+url.QueryEscape("active eq true"), readerTok, "")
	if values, _ := list.body["value"].([]any); list.status != http.StatusOK || len(values) != 1 {
		t.Fatalf("reader's list: %d %s", list.status, list.raw)
	}
	if r := ts.api("DELETE", "/v1.0/portcullis/ipBlocks/"+id, readerTok, ""); r.status != http.StatusForbidden {
		t.Fatalf("reader lifting a block: %d %s", r.status, r.raw)
	}
	if r := ts.api("DELETE", "/v1.0/portcullis/ipBlocks/"+id+"?reason=false+positive", opTok, ""); r.status != http.StatusNoContent {
		t.Fatalf("operator lifting the block: %d %s", r.status, r.raw)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), from...); r.status != http.StatusOK {
		t.Fatalf("sign-in after the block was lifted: %d %s", r.status, r.raw)
	}

	bad := ts.api("PATCH", "/v1.0/portcullis/lockoutPolicy", adminTok, `{"lockoutThreshold":0,"familiarNetworkDays":400}`)
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.raw, "threshold") || !strings.Contains(bad.raw, "familiar_network_days") {
		t.Fatalf("invalid policy: %d %s", bad.status, bad.raw)
	}
	if r := ts.api("PATCH", "/v1.0/portcullis/lockoutPolicy", readerTok, `{"lockoutThreshold":1}`); r.status != http.StatusForbidden {
		t.Fatalf("reader changing the policy: %d %s", r.status, r.raw)
	}
	if r := ts.api("PATCH", "/v1.0/portcullis/lockoutPolicy", adminTok, `{"lockoutThreshold":1}`); r.status != http.StatusOK ||
		r.body["lockoutThreshold"] != float64(1) {
		t.Fatalf("policy change: %d %s", r.status, r.raw)
	}
	victim := ts.addUser("victim@contoso.test", "Victim", adminTestPassword, true)
	ts.token(passwordForm(victim.UserPrincipalName, "wrong-1"), "X-Forwarded-For", "198.51.100.9")
	if r := ts.token(passwordForm(victim.UserPrincipalName, "wrong-2"), "X-Forwarded-For", "198.51.100.9"); r.errorCode() != 50053 {
		t.Fatalf("threshold 1 not applied at once: %d %s", r.status, r.raw)
	}
}

// TestAdminCreateUser: a User Administrator creates a user in Graph's shape;
// the password policy, the verified domains and uniqueness are enforced with
// Graph errors; the new user must change the password at first sign-in.
func TestAdminCreateUser(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("useradmin", rbac.UserAdministrator)
	body := func(upn, pw string) string {
		return fmt.Sprintf(`{"accountEnabled":true,"displayName":"New Person","mailNickname":"newperson",`+
			`"userPrincipalName":%q,"passwordProfile":{"password":%q}}`, upn, pw)
	}
	r := ts.api("POST", "/v1.0/users", tok, body("new.person@contoso.test", "Granite-Meadow-5812!"))
	if r.status != http.StatusCreated || r.body["userPrincipalName"] != "new.person@contoso.test" || r.header.Get("Location") == "" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	if s := ts.token(passwordForm("new.person@contoso.test", "Granite-Meadow-5812!")); s.errorCode() != 50055 {
		t.Fatalf("first sign-in must change the password: %d %s", s.status, s.raw)
	}
	for name, c := range map[string]struct {
		body   string
		status int
	}{
		"duplicate":       {body("new.person@contoso.test", "Granite-Meadow-5812!"), http.StatusConflict},
		"weak password":   {body("weak@contoso.test", "password1"), http.StatusBadRequest},
		"foreign domain":  {body("someone@fabrikam.test", "Granite-Meadow-5812!"), http.StatusBadRequest},
		"unknown field":   {`{"accountEnabled":true,"displayName":"X","userPrincipalName":"x@contoso.test","passwordProfile":{"password":"Granite-Meadow-5812!"},"shoeSize":9}`, http.StatusBadRequest},
		"missing profile": {`{"accountEnabled":true,"displayName":"X","userPrincipalName":"x@contoso.test"}`, http.StatusBadRequest},
	} {
		if r := ts.api("POST", "/v1.0/users", tok, c.body); r.status != c.status || graphCode(r) == "" {
			t.Errorf("%s: %d %s, want %d with a Graph error", name, r.status, r.raw, c.status)
		}
	}
}

// TestAdminDeleteUser: a deleted user can no longer sign in and their token
// stops working; nobody deletes themselves or the last Global Administrator.
func TestAdminDeleteUser(t *testing.T) {
	ts := startServer(t, nil)
	uaUser, uaTok := ts.withRole("useradmin", rbac.UserAdministrator)
	leaver, leaverTok := ts.withRole("leaver")
	if r := ts.api("DELETE", "/v1.0/users/"+leaver.ID, uaTok, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := ts.token(passwordForm(leaver.UserPrincipalName, adminTestPassword)); r.status == http.StatusOK {
		t.Fatalf("deleted user signed in: %s", r.raw)
	}
	if r := ts.api("GET", "/v1.0/me", leaverTok, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted user's token: %d %s", r.status, r.raw)
	}
	if r := ts.api("DELETE", "/v1.0/users/"+uaUser.ID, uaTok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("deleting yourself: %d %s", r.status, r.raw)
	}
	ga, gaTok := ts.withRole("onlyga", rbac.GlobalAdministrator)
	admin, err := ts.srv.Store().UserByLogin(context.Background(), ts.tenant.ID, "admin@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	if r := ts.api("DELETE", "/v1.0/users/"+admin.ID, gaTok, ""); r.status != http.StatusNoContent {
		t.Fatalf("deleting one of two Global Administrators: %d %s", r.status, r.raw)
	}
	if r := ts.api("DELETE", "/v1.0/users/"+ga.ID, uaTok, ""); r.status != http.StatusForbidden {
		t.Fatalf("a User Administrator deleting a Global Administrator: %d %s", r.status, r.raw)
	}
}

// TestAdminApplications: a Cloud Application Administrator reads app
// registrations in Graph's shape; secrets never appear, only their hints.
func TestAdminApplications(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("cloudappadmin", rbac.CloudApplicationAdministrator)
	list := ts.api("GET", "/v1.0/applications", tok, "")
	if list.status != http.StatusOK || !strings.Contains(list.raw, `"displayName":"Payroll"`) || strings.Contains(list.raw, ts.secret) {
		t.Fatalf("applications: %d %s", list.status, list.raw)
	}
	one := ts.api("GET", "/v1.0/applications/"+ts.conf.ClientID, tok, "")
	creds, _ := one.body["passwordCredentials"].([]any)
	if one.status != http.StatusOK || one.body["appId"] != ts.conf.ClientID || len(creds) != 1 {
		t.Fatalf("application: %d %s", one.status, one.raw)
	}
	if hint := creds[0].(map[string]any)["hint"].(string); hint == "" || !strings.HasPrefix(ts.secret, hint) {
		t.Fatalf("secret hint %q does not start the secret", hint)
	}
	if r := ts.api("GET", "/v1.0/applications/"+uuid.NewString(), tok, ""); r.status != http.StatusNotFound {
		t.Fatalf("unknown application: %d %s", r.status, r.raw)
	}
	// Register a confidential app: its secret comes back once and works.
	created := ts.api("POST", "/v1.0/applications", tok, `{"displayName":"Reporting","signInAudience":"AzureADMyOrg",`+
		`"web":{"redirectUris":["https://reports.contoso.test/cb"]}}`)
	creds, _ = created.body["passwordCredentials"].([]any)
	if created.status != http.StatusCreated || len(creds) != 1 {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	secret, _ := creds[0].(map[string]any)["secretText"].(string)
	appID, _ := created.body["appId"].(string)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}}
	if r := ts.token(form); r.status != http.StatusOK {
		t.Fatalf("the new app's secret does not work: %d %s", r.status, r.raw)
	}
	again := ts.api("GET", "/v1.0/applications/"+appID, tok, "")
	if strings.Contains(again.raw, secret) {
		t.Fatal("the secret is shown again after creation")
	}
	for name, body := range map[string]string{
		"no name":       `{"web":{"redirectUris":["https://x.contoso.test/cb"]}}`,
		"both kinds":    `{"displayName":"X","publicClient":{"redirectUris":["http://localhost"]},"web":{"redirectUris":["https://x.contoso.test/cb"]}}`,
		"multi-tenant":  `{"displayName":"X","signInAudience":"AzureADMultipleOrgs"}`,
		"bad redirect":  `{"displayName":"X","web":{"redirectUris":["http://insecure.contoso.test/cb"]}}`,
		"unknown field": `{"displayName":"X","requiredResourceAccess":[]}`,
	} {
		if r := ts.api("POST", "/v1.0/applications", tok, body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
}

// TestAdminNamedLocations: a Security Administrator adds a trusted range in
// Graph's shape and the very next sign-in from it is matched; bad shapes and
// duplicate names are refused; a Security Operator may not whitelist.
func TestAdminNamedLocations(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	_, adminTok := ts.withRole("secadmin", rbac.SecurityAdministrator)
	_, opTok := ts.withRole("secop", rbac.SecurityOperator)
	const office = `{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"Head office","isTrusted":true,` +
		`"ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"203.0.113.0/24"}]}`
	if r := ts.api("POST", "/v1.0/identity/conditionalAccess/namedLocations", opTok, office); r.status != http.StatusForbidden {
		t.Fatalf("Security Operator adding a trusted location: %d %s", r.status, r.raw)
	}
	created := ts.api("POST", "/v1.0/identity/conditionalAccess/namedLocations", adminTok, office)
	id, _ := created.body["id"].(string)
	if created.status != http.StatusCreated || id == "" || created.body["isTrusted"] != true {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "203.0.113.5", "client-request-id", corr(7100))
	if r.status != http.StatusOK {
		t.Fatalf("sign-in from the office: %d %s", r.status, r.raw)
	}
	matched := false
	for _, m := range ts.signInByCorrelation(corr(7100)).Protection.IPMatches {
		matched = matched || m.Name == "Head office"
	}
	if !matched {
		t.Fatalf("the new location did not match the next sign-in: %+v", ts.signInByCorrelation(corr(7100)).Protection)
	}
	for name, c := range map[string]struct {
		body   string
		status int
	}{
		"duplicate":    {office, http.StatusConflict},
		"bad country":  {`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"X","countriesAndRegions":["Narnia"]}`, http.StatusBadRequest},
		"mixed":        {`{"@odata.type":"#microsoft.graph.countryNamedLocation","displayName":"Y","countriesAndRegions":["NZ"],"isTrusted":true}`, http.StatusBadRequest},
		"unknown type": {`{"@odata.type":"#microsoft.graph.somethingElse","displayName":"Z"}`, http.StatusBadRequest},
		"bad range":    {`{"@odata.type":"#microsoft.graph.ipNamedLocation","displayName":"W","ipRanges":[{"@odata.type":"#microsoft.graph.iPv4CidrRange","cidrAddress":"300.1.2.0/24"}]}`, http.StatusBadRequest},
	} {
		if r := ts.api("POST", "/v1.0/identity/conditionalAccess/namedLocations", adminTok, c.body); r.status != c.status {
			t.Errorf("%s: %d %s, want %d", name, r.status, r.raw, c.status)
		}
	}
	if r := ts.api("DELETE", "/v1.0/identity/conditionalAccess/namedLocations/"+id, adminTok, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := ts.api("DELETE", "/v1.0/identity/conditionalAccess/namedLocations/"+id, adminTok, ""); r.status != http.StatusNotFound {
		t.Fatalf("delete twice: %d %s", r.status, r.raw)
	}
}

// TestAdminFeeds: a Security Operator reads feed statuses and refreshes a
// feed after its file changed; the new list applies to the next sign-in.
func TestAdminFeeds(t *testing.T) {
	list := filepath.Join(t.TempDir(), "drop.txt")
	if err := os.WriteFile(list, []byte("# DROP\n192.0.2.0/24 ; SBL1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.1"}
		c.Feeds = []config.Feed{{Name: "drop", Path: list, Category: "malicious", Action: "block", Refresh: time.Hour}}
	})
	_, tok := ts.withRole("secop", rbac.SecurityOperator)
	prefixes := func(r response) float64 {
		values, _ := r.body["value"].([]any)
		if len(values) != 1 {
			t.Fatalf("feeds: %d %s", r.status, r.raw)
		}
		n, _ := values[0].(map[string]any)["prefixes"].(float64)
		return n
	}
	// The first load runs in the background at start; a refresh is synchronous.
	if r := ts.api("POST", "/v1.0/portcullis/feeds/refresh", tok, ""); prefixes(r) != 1 {
		t.Fatalf("first refresh: %s", r.raw)
	}
	if r := ts.api("GET", "/v1.0/portcullis/feeds", tok, ""); prefixes(r) != 1 {
		t.Fatalf("feeds: %s", r.raw)
	}
	if err := os.WriteFile(list, []byte("192.0.2.0/24\n198.51.100.0/24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := ts.api("POST", "/v1.0/portcullis/feeds/refresh?name=drop", tok, ""); prefixes(r) != 2 {
		t.Fatalf("after refresh: %s", r.raw)
	}
	if r := ts.token(passwordForm("alice@contoso.test", alicePassword), "X-Forwarded-For", "198.51.100.20"); r.errorCode() != 50053 {
		t.Fatalf("sign-in from the newly listed range: %d %s", r.status, r.raw)
	}
	if r := ts.api("POST", "/v1.0/portcullis/feeds/refresh?name=nope", tok, ""); r.status != http.StatusNotFound {
		t.Fatalf("unknown feed: %d %s", r.status, r.raw)
	}
}

// TestAdminSignInsSeedPath is the seed's troubleshooting path through the
// API: as a Cloud Application Administrator, filter the sign-in log by the
// user and error code 50053 and read the failure reason; page through it;
// bad queries get Graph's error with the offending position.
func TestAdminSignInsSeedPath(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Lockout.Threshold = 2 })
	_, tok := ts.withRole("cloudappadmin", rbac.CloudApplicationAdministrator)
	victim := ts.addUser("victim@contoso.test", "Victim", adminTestPassword, true)
	for i := range 5 {
		ts.token(passwordForm(victim.UserPrincipalName, fmt.Sprint("wrong-", i)))
	}
	filter := url.QueryEscape("userPrincipalName eq 'victim@contoso.test' and status/errorCode eq 50053")
	r := ts.api("GET", "/v1.0/auditLogs/signIns?$count=true&$filter="+filter, tok, "")
	values, _ := r.body["value"].([]any)
	if r.status != http.StatusOK || len(values) != 3 || r.body["@odata.count"] != float64(3) {
		t.Fatalf("locked sign-ins of the victim: %d %s", r.status, r.raw)
	}
	status := values[0].(map[string]any)["status"].(map[string]any)
	if status["errorCode"] != float64(50053) || !strings.Contains(status["failureReason"].(string), "locked") {
		t.Fatalf("failure reason: %v", status)
	}
	// Paging: two at a time, newest first, nothing twice.
	seen := map[string]bool{}
	next := "/v1.0/auditLogs/signIns?$top=2&$filter=" + url.QueryEscape("userPrincipalName eq 'victim@contoso.test'")
	for pages := 0; next != ""; pages++ {
		page := ts.api("GET", next, tok, "")
		vals, _ := page.body["value"].([]any)
		for _, v := range vals {
			id := v.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("record %s on two pages", id)
			}
			seen[id] = true
		}
		next = ""
		if link, _ := page.body["@odata.nextLink"].(string); link != "" {
			next = strings.TrimPrefix(link, ts.base)
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged %d records, want 5", len(seen))
	}
	sel := ts.api("GET", "/v1.0/auditLogs/signIns?$top=1&$select=id,status", tok, "")
	one := sel.body["value"].([]any)[0].(map[string]any)
	if len(one) != 2 || one["id"] == nil || one["status"] == nil {
		t.Fatalf("$select: %s", sel.raw)
	}
	id := one["id"].(string)
	if r := ts.api("GET", "/v1.0/auditLogs/signIns/"+id, tok, ""); r.status != http.StatusOK || r.body["id"] != id {
		t.Fatalf("one record: %d %s", r.status, r.raw)
	}
	bad := ts.api("GET", "/v1.0/auditLogs/signIns?$filter="+url.QueryEscape("status/errorCode eq 'locked'"), tok, "")
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.raw, "position 21") || graphCode(bad) != "Request_BadRequest" {
		t.Fatalf("bad filter: %d %s", bad.status, bad.raw)
	}
	if r := ts.api("GET", "/v1.0/auditLogs/signIns?$orderby=userPrincipalName", tok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("bad orderby: %d %s", r.status, r.raw)
	}
}

// TestAdminSignInExport: every matching record, streamed as CSV or as a JSON
// array, honouring the filter; pages of the store are joined seamlessly.
func TestAdminSignInExport(t *testing.T) {
	ts := startServer(t, nil)
	_, tok := ts.withRole("reports", rbac.ReportsReader)
	for i := range 7 {
		ts.token(passwordForm("alice@contoso.test", fmt.Sprint("wrong-", i)))
	}
	filter := url.QueryEscape("userPrincipalName eq 'alice@contoso.test'")
	csvResp := ts.api("GET", "/v1.0/portcullis/signIns/export?format=csv&$filter="+filter, tok, "")
	lines := strings.Split(strings.TrimSpace(csvResp.raw), "\n")
	if csvResp.status != http.StatusOK || len(lines) != 8 || !strings.HasPrefix(lines[0], "createdDateTime,userPrincipalName") ||
		!strings.Contains(csvResp.header.Get("Content-Disposition"), ".csv") {
		t.Fatalf("CSV export: %d, %d lines\n%s", csvResp.status, len(lines), csvResp.raw)
	}
	jsonResp := ts.api("GET", "/v1.0/portcullis/signIns/export?format=json&$filter="+filter, tok, "")
	var all []map[string]any
	if err := json.Unmarshal([]byte(jsonResp.raw), &all); err != nil || len(all) != 7 {
		t.Fatalf("JSON export: %v, %d records\n%s", err, len(all), jsonResp.raw)
	}
	none := ts.api("GET", "/v1.0/portcullis/signIns/export?format=json&$filter="+url.QueryEscape("status/errorCode eq 12345"), tok, "")
	if strings.TrimSpace(none.raw) != "[]" {
		t.Fatalf("empty JSON export: %q", none.raw)
	}
	if r := ts.api("GET", "/v1.0/portcullis/signIns/export?format=xml", tok, ""); r.status != http.StatusBadRequest {
		t.Fatalf("unknown format: %d", r.status)
	}
}
