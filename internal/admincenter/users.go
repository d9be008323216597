package admincenter

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/diagnose"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
)

// user is a Graph user as the API answers it.
type user struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	AccountEnabled    bool   `json:"accountEnabled"`
	CreatedDateTime   string `json:"createdDateTime"`
}

type usersView struct {
	layout
	Search string
	Users  []user
	Next   string
	Error  string
}

// usersPage lists users, or those whose sign-in name starts with q.
func (c *Center) usersPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	search := strings.TrimSpace(r.URL.Query().Get("q"))
	view := usersView{layout: c.layoutFor(v, "users", "Users"), Search: search}
	q := url.Values{"$top": {"50"}}
	if search != "" {
		q.Set("$filter", "startswith(userPrincipalName,"+odataString(search)+")")
	}
	if tok := r.URL.Query().Get("page"); tok != "" {
		q.Set("$skiptoken", tok)
	}
	page, status, message := readCollection[user](c, r, v, "/v1.0/users?"+q.Encode())
	view.Users, view.Error = page.Value, message
	filter := url.Values{}
	if search != "" {
		filter.Set("q", search)
	}
	view.Next = nextPageLink("/admin/users", filter, page.NextLink)
	c.render(w, status, "users.html", view)
}

// userView is one user's page.
type userView struct {
	layout
	User        user
	Lock        *guard.Status
	Locks       []lockBanner
	Roles       []string
	RolesShown  bool
	SignIns     []signinlog.Record
	SignInsNote string
	Done        string // what the last action did
	TempPass    string // a reset's temporary password, shown once
	Error       string
	Can         map[string]bool
	Diagnosis   string
	// Protected: the user holds a role the viewer's roles cannot manage,
	// so the actions are not offered.
	Protected bool
}

// lockBanner is one locked source class: "Locked until 14:35 (unfamiliar
// sources)".
type lockBanner struct {
	Until time.Time
	Class string
}

var classNames = map[string]string{guard.ClassUnfamiliar: "unfamiliar sources", guard.ClassFamiliarNetwork: "familiar networks",
	guard.ClassDeviceCookie: "the user's own devices", guard.ClassTrustedLocation: "trusted locations"}

func (c *Center) userPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	view, status := c.loadUser(r, v)
	view.Done = map[string]string{"unlocked": "The account is unlocked: every source class may sign in again.",
		"revoked": "Every session and refresh token of the user has ended.", "disabled": "The account is disabled.",
		"enabled": "The account is enabled."}[r.URL.Query().Get("done")]
	if r.URL.Query().Get("diagnose") == "1" && view.Can["diagnose"] {
		view.Diagnosis = c.diagnosis(r, v, view.User.UserPrincipalName)
	}
	c.render(w, status, "user.html", view)
}

// loadUser reads what the user page shows, each part only when the
// viewer's roles can read it.
func (c *Center) loadUser(r *http.Request, v *viewer) (userView, int) {
	id := url.PathEscape(r.PathValue("id"))
	view := userView{layout: c.layoutFor(v, "users", "User"), Can: map[string]bool{
		"unlock": v.can(rbac.LockoutUnlock), "reset": v.can(rbac.UsersResetPassword),
		"revoke": v.can(rbac.UsersRevokeSessions), "disable": v.can(rbac.UsersWrite), "diagnose": v.can(rbac.DiagnoseRead)}}
	code, body := c.call(r, http.MethodGet, "/v1.0/users/"+id, v.Token, nil, "")
	if code != http.StatusOK || json.Unmarshal(body, &view.User) != nil {
		view.Error = apiMessage(code, body)
		return view, max(code, http.StatusBadRequest)
	}
	view.Title = view.User.DisplayName
	c.limitToManageable(r, v, &view)
	if v.can(rbac.LockoutRead) {
		var st guard.Status
		if code, body := c.call(r, http.MethodGet, "/v1.0/portcullis/users/"+id+"/lockout", v.Token, nil, ""); code == http.StatusOK &&
			json.Unmarshal(body, &st) == nil {
			view.Lock = &st
			for _, b := range st.Budgets {
				if b.Locked {
					view.Locks = append(view.Locks, lockBanner{Until: b.LockedUntil, Class: classNames[b.Class]})
				}
			}
		}
	}
	if v.can(rbac.RolesRead) {
		view.RolesShown = true
		q := url.Values{"$filter": {"principalId eq " + odataString(view.User.ID)}}
		type assignment struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
		}
		for _, a := range values[assignment](c, r, v, "/v1.0/roleManagement/directory/roleAssignments?"+q.Encode()) {
			if role, ok := rbac.RoleByID(a.RoleDefinitionID); ok {
				view.Roles = append(view.Roles, role.Name)
			}
		}
	}
	if v.can(rbac.SignInsRead) {
		q := url.Values{"$filter": {"userId eq " + odataString(view.User.ID)}, "$top": {"10"}}
		view.SignIns = values[signinlog.Record](c, r, v, "/v1.0/auditLogs/signIns?"+q.Encode())
	} else {
		view.SignInsNote = "Your roles do not read sign-in logs."
	}
	return view, http.StatusOK
}

// limitToManageable hides the actions the API would refuse for this
// target: administrators are protected from lower administrators (a
// User Administrator cannot reset a Global Administrator's password), and
// the page says so rather than offering buttons that fail. Only for a
// viewer who may read role assignments: to anyone else a missing button
// would tell who the administrators are, so, as in Entra, they see the
// buttons and the API refuses (and audits) the attempt.
func (c *Center) limitToManageable(r *http.Request, v *viewer, view *userView) {
	if !v.can(rbac.RolesRead) || !view.Can["unlock"] && !view.Can["reset"] && !view.Can["revoke"] && !view.Can["disable"] {
		return
	}
	assignments, err := c.store.ListRoleAssignments(r.Context(), c.tenantID, view.User.ID)
	if err != nil {
		return // the API decides on each action anyway
	}
	var targetRoles []string
	for _, a := range assignments {
		targetRoles = append(targetRoles, a.RoleDefinitionID)
	}
	if rbac.CanManageUser(v.roles, targetRoles) {
		return
	}
	for _, action := range []string{"unlock", "reset", "revoke", "disable"} {
		view.Can[action] = false
	}
	view.Protected = true
}

// diagnosis is the diagnose report for upn as text.
func (c *Center) diagnosis(r *http.Request, v *viewer, upn string) string {
	code, body := c.call(r, http.MethodGet, "/v1.0/portcullis/diagnose?"+url.Values{"user": {upn}}.Encode(), v.Token, nil, "")
	var rep diagnose.Report
	if code != http.StatusOK || json.Unmarshal(body, &rep) != nil {
		return apiMessage(code, body)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	return buf.String()
}

// userAction runs one of the user page's buttons through the API.
func (c *Center) userAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	if r.PostFormValue("csrf") != v.CSRF {
		answeredAt(w, "false")
		c.renderError(w, v, http.StatusForbidden, "The form has expired", "Go back, reload the page and try again.")
		return
	}
	id := url.PathEscape(r.PathValue("id"))
	answeredAt(w, "/admin/users/"+id)
	var code int
	var body []byte
	done := ""
	switch r.PathValue("action") {
	case "unlock":
		code, body = c.call(r, http.MethodPost, "/v1.0/portcullis/users/"+id+"/lockout/unlock", v.Token,
			strings.NewReader(`{"reason":"unlocked in the admin center"}`), "application/json")
		done = "unlocked"
	case "revoke":
		code, body = c.call(r, http.MethodPost, "/v1.0/users/"+id+"/revokeSignInSessions", v.Token, nil, "")
		done = "revoked"
	case "disable", "enable":
		enabled := r.PathValue("action") == "enable"
		payload, _ := json.Marshal(map[string]bool{"accountEnabled": enabled})
		code, body = c.call(r, http.MethodPatch, "/v1.0/users/"+id, v.Token, bytes.NewReader(payload), "application/json")
		done = r.PathValue("action") + "d"
	case "reset":
		c.resetPassword(w, r, v, id)
		return
	default:
		http.NotFound(w, r)
		return
	}
	if code >= 300 {
		view, _ := c.loadUser(r, v)
		view.Error = apiMessage(code, body)
		c.render(w, max(code, http.StatusBadRequest), "user.html", view)
		return
	}
	http.Redirect(w, r, "/admin/users/"+id+"?done="+done, http.StatusSeeOther)
}

// resetPassword shows the generated temporary password once, on the page
// the POST answers (never in a URL or a cookie).
func (c *Center) resetPassword(w http.ResponseWriter, r *http.Request, v *viewer, id string) {
	path := "/v1.0/users/" + id + "/authentication/methods/" + rbac.PasswordMethodID + "/resetPassword"
	code, body := c.call(r, http.MethodPost, path, v.Token, strings.NewReader(`{}`), "application/json")
	view, _ := c.loadUser(r, v)
	var out struct {
		NewPassword string `json:"newPassword"`
	}
	if code >= 300 || json.Unmarshal(body, &out) != nil || out.NewPassword == "" {
		view.Error = apiMessage(code, body)
		c.render(w, max(code, http.StatusBadRequest), "user.html", view)
		return
	}
	view.TempPass = out.NewPassword
	view.Done = "The password is reset. Give the user this temporary password; they must change it at their next sign-in. It is not shown again."
	c.render(w, http.StatusOK, "user.html", view)
}
