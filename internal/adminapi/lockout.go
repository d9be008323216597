package adminapi

import (
	"net/http"
	"strconv"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/rbac"
)

func (a *API) getLockout(w http.ResponseWriter, r *http.Request, p *principal) {
	u, ok := a.userFromPath(w, r, p)
	if !ok {
		return
	}
	st, err := a.guard.Status(r.Context(), p.tenantID, u.ID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, st)
}

type unlockRequest struct {
	Reason string `json:"reason"`
}

// unlock clears every lockout budget of a user the caller may manage.
func (a *API) unlock(w http.ResponseWriter, r *http.Request, p *principal) {
	var req unlockRequest
	if r.ContentLength != 0 && !decodeStrict(w, r, &req) {
		return
	}
	u, ok := a.userFromPath(w, r, p)
	if !ok {
		return
	}
	target := auditTarget{ID: u.ID, DisplayName: u.DisplayName, Type: "User", UserPrincipalName: u.UserPrincipalName}
	if !a.mayManage(w, r, p, u.ID, "Unlock user", target) {
		return
	}
	by := p.upn
	if p.app {
		by = "app:" + p.id
	}
	cleared, err := a.guard.Unlock(r.Context(), p.tenantID, u, by, req.Reason)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit(r, p, auditEntry{category: "UserManagement", activity: "Unlock user", operation: "Update",
		targets: []auditTarget{target}, details: []keyValue{{Key: "reason", Value: req.Reason}},
		modified: []modifiedProperty{{DisplayName: "LockoutBudgetsCleared", NewValue: strconv.Itoa(cleared)}}})
	w.WriteHeader(http.StatusNoContent)
}

// mayManage applies Entra's protection of administrators: the caller's
// roles must allow managing a user with the target's roles. A refusal is
// answered 403 and audited.
func (a *API) mayManage(w http.ResponseWriter, r *http.Request, p *principal, targetID, activity string, target auditTarget) bool {
	assignments, err := a.store.ListRoleAssignments(r.Context(), p.tenantID, targetID)
	if err != nil {
		a.internal(w, r, err)
		return false
	}
	var targetRoles []string
	for _, as := range assignments {
		targetRoles = append(targetRoles, as.RoleDefinitionID)
	}
	if rbac.CanManageUser(p.roles, targetRoles) {
		return true
	}
	if a.refused.firstTime(p.id + " " + activity + " " + targetID + " " + a.now().UTC().Format("2006-01-02T15:04")) {
		a.audit(r, p, auditEntry{category: "UserManagement", activity: activity, operation: "Update",
			targets: []auditTarget{target}, failure: "Insufficient privileges: the target holds a role the caller may not manage"})
	}
	writeError(w, r, http.StatusForbidden, codeDenied, "Insufficient privileges to complete the operation.")
	return false
}
