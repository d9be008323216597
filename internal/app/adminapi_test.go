package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

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
