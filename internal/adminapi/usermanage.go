package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// etagOf is a user's version: its UpdatedAt to the microsecond, which every
// change moves forward.
func etagOf(u store.User) string {
	return `W/"` + strconv.FormatInt(u.UpdatedAt.UnixMicro(), 10) + `"`
}

type patchUserRequest struct {
	ODataType      string  `json:"@odata.type"`
	DisplayName    *string `json:"displayName"`
	AccountEnabled *bool   `json:"accountEnabled"`
}

// patchUser updates displayName and accountEnabled. With If-Match, the
// update applies only to the version the caller read (412 otherwise), so two
// administrators cannot silently overwrite each other.
func (a *API) patchUser(w http.ResponseWriter, r *http.Request, p *principal) {
	var req patchUserRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	if req.DisplayName != nil && (strings.TrimSpace(*req.DisplayName) == "" || len(*req.DisplayName) > 256) {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "displayName must be 1 to 256 characters.")
		return
	}
	u, ok := a.userFromPath(w, r, p)
	if !ok || !a.checkIfMatch(w, r, u) {
		return
	}
	target := userTarget(u)
	if !a.mayManage(w, r, p, u.ID, "Update user", target) {
		return
	}
	if req.AccountEnabled != nil && !*req.AccountEnabled && u.ID == p.id {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "You cannot disable your own account.")
		return
	}
	prev, changed := u.UpdatedAt, []modifiedProperty{}
	if req.DisplayName != nil && *req.DisplayName != u.DisplayName {
		changed = append(changed, modifiedProperty{DisplayName: "DisplayName", OldValue: u.DisplayName, NewValue: *req.DisplayName})
		u.DisplayName = *req.DisplayName
	}
	if req.AccountEnabled != nil && *req.AccountEnabled != u.AccountEnabled {
		changed = append(changed, modifiedProperty{DisplayName: "AccountEnabled",
			OldValue: strconv.FormatBool(u.AccountEnabled), NewValue: strconv.FormatBool(*req.AccountEnabled)})
		u.AccountEnabled = *req.AccountEnabled
	}
	if len(changed) > 0 {
		u.UpdatedAt = a.later(prev)
		err := a.store.UpdateUserIfUnchanged(r.Context(), u, prev)
		if errors.Is(err, store.ErrConflict) {
			writeError(w, r, http.StatusPreconditionFailed, codePreconditionFailed, "The user was changed by someone else; read it again.")
			return
		}
		if err != nil {
			a.internal(w, r, err)
			return
		}
		a.changed(u)
		a.audit(r, p, auditEntry{category: "UserManagement", activity: "Update user", operation: "Update",
			targets: []auditTarget{target}, modified: changed})
	}
	w.Header().Set("ETag", etagOf(u))
	w.WriteHeader(http.StatusNoContent)
}

// checkIfMatch answers 412 when If-Match names another version.
func (a *API) checkIfMatch(w http.ResponseWriter, r *http.Request, u store.User) bool {
	want := r.Header.Get("If-Match")
	if want == "" || want == "*" || want == etagOf(u) || want == strings.TrimPrefix(etagOf(u), "W/") {
		return true
	}
	writeError(w, r, http.StatusPreconditionFailed, codePreconditionFailed, "The user was changed by someone else; read it again.")
	return false
}

// later returns a time after prev (and normally now), so the version moves
// forward even when two changes fall in the same microsecond.
func (a *API) later(prev time.Time) time.Time {
	now := a.now().UTC().Truncate(time.Microsecond)
	if !now.After(prev) {
		now = prev.Add(time.Microsecond)
	}
	return now
}

func userTarget(u store.User) auditTarget {
	return auditTarget{ID: u.ID, DisplayName: u.DisplayName, Type: "User", UserPrincipalName: u.UserPrincipalName}
}

// endSessions ends every session of u: tokens issued before the next
// whole second stop working, and its device cookies are revoked (a
// browser that was signed in, on a stolen laptop, must not keep the
// lockout budget of the user's own device). It answers the user as
// written and how many device cookies were revoked.
func (a *API) endSessions(ctx context.Context, u store.User) (store.User, int, error) {
	u, err := a.dir.ModifyUser(ctx, u.TenantID, u.ID, func(cur *store.User) {
		cur.SignInSessionsValidFrom = RevocationTime(a.now())
	})
	if err != nil {
		return u, 0, err
	}
	a.changed(u)
	devices, err := a.store.RevokeDeviceCookies(ctx, u.TenantID, u.ID, a.now())
	return u, devices, err
}

// userGone answers 404 when err says the user was deleted meanwhile.
func (a *API) userGone(w http.ResponseWriter, r *http.Request, id string, err error) bool {
	if !errors.Is(err, store.ErrNotFound) {
		return false
	}
	writeError(w, r, http.StatusNotFound, codeNotFound, "User '"+truncateID(id)+"' does not exist.")
	return true
}

// revokeSessions is Graph's revokeSignInSessions: tokens issued before now
// stop working with the API (and refresh tokens, once they can be redeemed).
func (a *API) revokeSessions(w http.ResponseWriter, r *http.Request, p *principal) {
	u, ok := a.userFromPath(w, r, p)
	if !ok {
		return
	}
	target := userTarget(u)
	if !a.mayManage(w, r, p, u.ID, "Revoke sign-in sessions", target) {
		return
	}
	u, devices, err := a.endSessions(ctxDetached(r), u)
	if a.userGone(w, r, target.ID, err) {
		return
	} else if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit(r, p, auditEntry{category: "UserManagement", activity: "Revoke sign-in sessions", operation: "Update",
		targets: []auditTarget{target}, modified: []modifiedProperty{{DisplayName: "SignInSessionsValidFromDateTime",
			NewValue: graphTime(u.SignInSessionsValidFrom)}, {DisplayName: "DeviceCookiesRevoked", NewValue: strconv.Itoa(devices)}}})
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"@odata.context": a.odataContext("Edm.Boolean"), "value": true})
}

// resetPassword sets a generated temporary password, returned once, that
// must be changed at the next sign-in, and revokes the user's sessions.
func (a *API) resetPassword(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.ContentLength > 0 {
		var req struct {
			NewPassword *string `json:"newPassword"`
		}
		if !decodeStrict(w, r, &req) {
			return
		}
		if req.NewPassword != nil {
			writeError(w, r, http.StatusBadRequest, codeBadRequest,
				"newPassword is not accepted: Portcullis generates the temporary password, so no administrator chooses one.")
			return
		}
	}
	u, ok := a.userFromPath(w, r, p)
	if !ok {
		return
	}
	target := userTarget(u)
	if !a.mayManage(w, r, p, u.ID, "Reset user password", target) {
		return
	}
	temp := password.Generate()
	u, err := a.dir.SetPassword(r.Context(), u, temp, true, func(cur *store.User) {
		cur.SignInSessionsValidFrom = RevocationTime(a.now())
	})
	if a.userGone(w, r, target.ID, err) {
		return
	} else if err != nil {
		a.internal(w, r, fmt.Errorf("reset password: %w", err))
		return
	}
	a.changed(u)
	a.audit(r, p, auditEntry{category: "UserManagement", activity: "Reset user password", operation: "Update",
		targets: []auditTarget{target}, modified: []modifiedProperty{{DisplayName: "ForceChangePasswordNextSignIn",
			OldValue: "", NewValue: "true"}}})
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"newPassword": temp})
}

type passwordProfile struct {
	Password                      string `json:"password"`
	ForceChangePasswordNextSignIn *bool  `json:"forceChangePasswordNextSignIn"`
}

type createUserRequest struct {
	ODataType         string           `json:"@odata.type"`
	AccountEnabled    *bool            `json:"accountEnabled"`
	DisplayName       string           `json:"displayName"`
	UserPrincipalName string           `json:"userPrincipalName"`
	MailNickname      string           `json:"mailNickname"` // Graph requires it; Portcullis has no mailboxes
	Mail              string           `json:"mail"`
	PasswordProfile   *passwordProfile `json:"passwordProfile"`
}

// createUser is Graph's POST /users: the password policy applies, and the
// password must be changed at first sign-in unless the body says otherwise.
func (a *API) createUser(w http.ResponseWriter, r *http.Request, p *principal) {
	var req createUserRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	if req.AccountEnabled == nil || req.PasswordProfile == nil || req.PasswordProfile.Password == "" {
		writeError(w, r, http.StatusBadRequest, codeBadRequest,
			"accountEnabled, displayName, userPrincipalName and passwordProfile.password are required.")
		return
	}
	tenant, err := a.store.GetTenant(r.Context(), p.tenantID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	force := true
	if req.PasswordProfile.ForceChangePasswordNextSignIn != nil {
		force = *req.PasswordProfile.ForceChangePasswordNextSignIn
	}
	u, err := a.dir.AddUser(r.Context(), tenant, directory.NewUser{UserPrincipalName: req.UserPrincipalName,
		DisplayName: req.DisplayName, Mail: req.Mail, Password: req.PasswordProfile.Password,
		AccountEnabled: *req.AccountEnabled, ForceChangePasswordNextSignIn: force})
	switch {
	case errors.Is(err, store.ErrConflict):
		writeError(w, r, http.StatusConflict, codeConflict, "Another object with the same value for property userPrincipalName or mail already exists.")
		return
	case errors.Is(err, directory.ErrInvalid), errors.Is(err, directory.ErrInvalidName):
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	a.audit(r, p, auditEntry{category: "UserManagement", activity: "Add user", operation: "Add",
		targets: []auditTarget{userTarget(u)}, modified: []modifiedProperty{
			{DisplayName: "AccountEnabled", NewValue: strconv.FormatBool(u.AccountEnabled)},
			{DisplayName: "ForceChangePasswordNextSignIn", NewValue: strconv.FormatBool(force)}}})
	g := toGraphUser(u)
	g.Context = a.odataContext("users/$entity")
	w.Header().Set("Location", a.publicURL+"/v1.0/users/"+u.ID)
	w.Header().Set("ETag", etagOf(u))
	httpx.WriteJSON(w, http.StatusCreated, g)
}

// deleteUser removes a user the caller may manage. Nobody deletes
// themselves, and the tenant's last Global Administrator stays.
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, p *principal) {
	u, ok := a.userFromPath(w, r, p)
	if !ok {
		return
	}
	if u.ID == p.id {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "You cannot delete your own account.")
		return
	}
	target := userTarget(u)
	if !a.mayManage(w, r, p, u.ID, "Delete user", target) {
		return
	}
	all, err := a.store.ListRoleAssignments(r.Context(), p.tenantID, "")
	if err != nil {
		a.internal(w, r, err)
		return
	}
	for i := range all {
		if all[i].PrincipalID == u.ID && all[i].RoleDefinitionID == rbac.GlobalAdministrator && a.lastGlobalAdmin(all, &all[i]) {
			writeError(w, r, http.StatusBadRequest, codeBadRequest,
				"This user is the last Global Administrator: assign another Global Administrator first.")
			return
		}
	}
	if err := a.store.DeleteUser(r.Context(), p.tenantID, u.ID); err != nil {
		a.internal(w, r, err)
		return
	}
	a.changed(u)
	a.audit(r, p, auditEntry{category: "UserManagement", activity: "Delete user", operation: "Delete",
		targets: []auditTarget{target}})
	w.WriteHeader(http.StatusNoContent)
}
