package app_test

import (
	"context"
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
	if r := ts.api("POST", "/v1.0/roleManagement/directory/roleAssignments", uaTok, self); r.status != http.StatusForbidden {
		t.Fatalf("User Administrator making themselves Global Administrator: %d %s", r.status, r.raw)
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
	if failures != 2 || unlocks != 1 {
		t.Fatalf("audit log has %d refusals and %d unlocks, want 2 and 1: %s", failures, unlocks, audits.raw)
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
