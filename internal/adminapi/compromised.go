package adminapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/portcullis-idp/portcullis/internal/store"
)

type confirmCompromisedRequest struct {
	UserIDs []string `json:"userIds"`
}

// maxCompromisedUsers bounds one request, as Graph does (60 users).
const maxCompromisedUsers = 60

// confirmCompromised is Graph's riskyUsers/confirmCompromised: for each user
// every session, refresh token and token issued so far stops working and
// every device cookie is revoked, so whoever holds them is signed out and
// loses the lockout budget of the user's devices. The password is not
// changed: whoever compromised the account may know it, so the
// administrator resets it next (resetPassword). Every user named is checked
// before any is changed.
func (a *API) confirmCompromised(w http.ResponseWriter, r *http.Request, p *principal) {
	var req confirmCompromisedRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	if len(req.UserIDs) == 0 || len(req.UserIDs) > maxCompromisedUsers {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "userIds must name 1 to "+strconv.Itoa(maxCompromisedUsers)+" users.")
		return
	}
	users := make([]store.User, 0, len(req.UserIDs))
	for _, id := range req.UserIDs {
		u, err := a.findUser(r, p.tenantID, id)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, r, http.StatusNotFound, codeNotFound, "User '"+truncateID(id)+"' does not exist.")
			return
		} else if err != nil {
			a.internal(w, r, err)
			return
		}
		if !a.mayManage(w, r, p, u.ID, "Confirm user compromised", userTarget(u)) {
			return
		}
		users = append(users, u)
	}
	for _, u := range users {
		id := u.ID
		u, devices, err := a.endSessions(ctxDetached(r), u)
		if a.userGone(w, r, id, err) {
			return
		} else if err != nil {
			a.internal(w, r, err)
			return
		}
		a.audit(r, p, auditEntry{category: "UserManagement", activity: "Confirm user compromised", operation: "Update",
			targets: []auditTarget{userTarget(u)}, modified: []modifiedProperty{
				{DisplayName: "SignInSessionsValidFromDateTime", NewValue: graphTime(u.SignInSessionsValidFrom)},
				{DisplayName: "DeviceCookiesRevoked", NewValue: strconv.Itoa(devices)}}})
	}
	w.WriteHeader(http.StatusNoContent)
}

func truncateID(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
