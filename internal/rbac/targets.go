package rbac

import "slices"

// Entra protects administrators from lower administrators: a Helpdesk
// Administrator can reset the password of a user with no role but not of a
// Global Administrator. These are the roles a target may hold for each
// acting role to still manage them (reset password, unlock, revoke
// sessions, update, disable, delete), after Entra's "who can reset
// passwords" table, narrowed to the roles Portcullis has.
var manageableWith = map[string][]string{
	HelpdeskAdministrator:       {HelpdeskAdministrator, ReportsReader},
	AuthenticationAdministrator: {HelpdeskAdministrator, ReportsReader, AuthenticationAdministrator},
	UserAdministrator:           {HelpdeskAdministrator, ReportsReader, UserAdministrator},
	// The security roles act on users only to confirm them compromised (their
	// permissions allow nothing else here): non-administrators and the
	// reader and operator roles below their own.
	SecurityAdministrator: {HelpdeskAdministrator, ReportsReader, SecurityReader, SecurityOperator},
	SecurityOperator:      {HelpdeskAdministrator, ReportsReader, SecurityReader},
}

// CanManageUser reports whether an actor holding actorRoles may manage a
// user holding targetRoles. Global Administrators may manage everyone; the
// roles in manageableWith may manage users whose every role is in their
// list; no other role may manage anyone (the permission check decides
// whether they may try at all).
func CanManageUser(actorRoles, targetRoles []string) bool {
	for _, a := range actorRoles {
		if a == GlobalAdministrator {
			return true
		}
		allowed, ok := manageableWith[a]
		if !ok {
			continue
		}
		if subset(targetRoles, allowed) {
			return true
		}
	}
	return false
}

// CanAssignRoles reports whether an actor may create or remove role
// assignments (of any role, Global Administrator included): only Global
// Administrators and Privileged Role Administrators, as in Entra.
func CanAssignRoles(actorRoles []string) bool {
	return Allowed(actorRoles, RolesAssign)
}

func subset(have, allowed []string) bool {
	for _, h := range have {
		if !slices.Contains(allowed, h) {
			return false
		}
	}
	return true
}
