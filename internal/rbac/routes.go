package rbac

// Route is one admin API route and what it requires. The API registers its
// handlers only through this table (see internal/adminapi), so a route
// cannot exist without a permission, and the matrix test walks it.
type Route struct {
	Method  string
	Pattern string // net/http ServeMux pattern, without the method
	// Permission is what the caller's roles must grant.
	Permission Permission
	// TargetsUser marks routes acting on the user in {id}: the caller must
	// also be allowed to manage that user (CanManageUser) unless reading.
	TargetsUser bool
	// Summary is a line for docs/roles.md.
	Summary string
}

// Routes is every admin route.
var Routes = []Route{
	{"GET", "/v1.0/me", "", false, "The caller's own user (any signed-in administrator or user)."},
	{"GET", "/v1.0/portcullis/me/signIns", "", false, "The caller's own recent sign-ins, without the admin-only detail (any signed-in user)."},
	{"GET", "/v1.0/users", UsersRead, false, "List users ($filter, $top, paging)."},
	{"POST", "/v1.0/users", UsersWrite, false, "Create a user (the password policy applies)."},
	{"POST", "/v1.0/portcullis/users/import", UsersWrite, false, "Create users from CSV (text/csv), all or none."},
	{"GET", "/v1.0/users/{id}", UsersRead, false, "Get a user by object ID or UPN."},
	{"DELETE", "/v1.0/users/{id}", UsersWrite, true, "Delete a user (not yourself, not the last Global Administrator)."},
	{"PATCH", "/v1.0/users/{id}", UsersWrite, true, "Update displayName or accountEnabled (If-Match honoured)."},
	{"POST", "/v1.0/users/{id}/revokeSignInSessions", UsersRevokeSessions, true, "Invalidate every token issued to the user so far."},
	{"POST", "/v1.0/identityProtection/riskyUsers/confirmCompromised", RiskyUsersWrite, false,
		"End the sessions, tokens and device cookies of compromised users ({\"userIds\":[...]}); each must be one the caller may manage."},
	{"POST", "/v1.0/users/{id}/authentication/methods/" + PasswordMethodID + "/resetPassword", UsersResetPassword, true,
		"Reset the password to a generated temporary one, shown once."},
	{"GET", "/v1.0/roleManagement/directory/roleDefinitions", RolesRead, false, "List the directory roles."},
	{"GET", "/v1.0/roleManagement/directory/roleAssignments", RolesRead, false, "List role assignments."},
	{"POST", "/v1.0/roleManagement/directory/roleAssignments", RolesAssign, false, "Assign a role."},
	{"DELETE", "/v1.0/roleManagement/directory/roleAssignments/{id}", RolesAssign, false, "Remove a role assignment."},
	{"GET", "/v1.0/applications", AppsRead, false, "List app registrations (secrets never shown, only their hints)."},
	{"GET", "/v1.0/applications/{id}", AppsRead, false, "Get an app registration by its app (client) ID."},
	{"POST", "/v1.0/applications", AppsWrite, false, "Register an app (a confidential app's secret is returned once)."},
	{"PATCH", "/v1.0/applications/{id}", AppsWrite, false, "Change an app's displayName, redirect URIs or password-grant permission."},
	{"DELETE", "/v1.0/applications/{id}", AppsWrite, false, "Delete an app with its secrets, role assignments and refresh tokens."},
	{"POST", "/v1.0/applications/{id}/addPassword", AppsWrite, false, "Add a client secret (returned once)."},
	{"POST", "/v1.0/applications/{id}/removePassword", AppsWrite, false, "Remove a client secret by keyId."},
	{"GET", "/v1.0/auditLogs/signIns", SignInsRead, false, "The sign-in log: $filter, $top, $orderby, $count, $select, paging."},
	{"GET", "/v1.0/auditLogs/signIns/{id}", SignInsRead, false, "One sign-in record."},
	{"GET", "/v1.0/portcullis/signIns/export", SignInsRead, false, "Every matching sign-in as CSV or JSON (?format=), streamed."},
	{"GET", "/v1.0/portcullis/signIns/summary", SignInsRead, false, "A span of the log aggregated in one pass: per interval, per error code, top failing addresses."},
	{"GET", "/v1.0/portcullis/diagnose", DiagnoseRead, false, "Why a user cannot sign in: cause, evidence, attack patterns, what to do (?user=&since=)."},
	{"GET", "/v1.0/auditLogs/directoryAudits", AuditRead, false, "List the audit log."},
	{"GET", "/v1.0/portcullis/users/{id}/lockout", LockoutRead, false, "A user's smart lockout status, per source class."},
	{"GET", "/v1.0/portcullis/lockoutPolicy", LockoutPolicyRead, false, "The tenant's smart lockout policy."},
	{"PATCH", "/v1.0/portcullis/lockoutPolicy", LockoutPolicyWrite, false, "Change the smart lockout policy."},
	{"GET", "/v1.0/portcullis/passwordPolicy", PasswordPolicyRead, false, "The password policy: minimum length and custom banned terms (ETag)."},
	{"PATCH", "/v1.0/portcullis/passwordPolicy", PasswordPolicyWrite, false, "Replace the custom banned terms (If-Match honoured)."},
	{"GET", "/v1.0/portcullis/signingKeys", SigningKeysRead, false, "Token-signing keys: kid, algorithm, status (never private material)."},
	{"POST", "/v1.0/portcullis/signingKeys/rotate", SigningKeysRotate, false, "Make new signing keys active; old ones stay published."},
	{"GET", "/v1.0/identity/conditionalAccess/namedLocations", IPProtectionRead, false, "The tenant's named locations (Graph's shape)."},
	{"POST", "/v1.0/identity/conditionalAccess/namedLocations", NamedLocationsWrite, false, "Add an IP-range or country location."},
	{"DELETE", "/v1.0/identity/conditionalAccess/namedLocations/{id}", NamedLocationsWrite, false, "Remove a named location."},
	{"GET", "/v1.0/portcullis/feeds", IPProtectionRead, false, "Threat feeds and the outcome of their last load."},
	{"POST", "/v1.0/portcullis/feeds/refresh", IPProtectionWrite, false, "Fetch or re-read one feed (?name=) or all now."},
	{"GET", "/v1.0/portcullis/ips/{ip}", IPProtectionRead, false, "The verdict for an address and every feed, block and location matching it."},
	{"GET", "/v1.0/portcullis/ipBlocks", IPProtectionRead, false, "IP block records ($filter=active eq true for those in force)."},
	{"POST", "/v1.0/portcullis/ipBlocks", IPProtectionWrite, false, "Block an address or prefix."},
	{"DELETE", "/v1.0/portcullis/ipBlocks/{id}", IPProtectionWrite, false, "Revoke a block (automatic or administrative)."},
	{"POST", "/v1.0/portcullis/users/{id}/lockout/unlock", LockoutUnlock, true, "Unlock a user (every source class)."},
}

// PasswordMethodID is Graph's well-known ID of a user's password
// authentication method.
const PasswordMethodID = "28c10230-6103-485e-b985-444c60001490"

// RouteFor returns the table entry for method and pattern.
func RouteFor(method, pattern string) (Route, bool) {
	for _, r := range Routes {
		if r.Method == method && r.Pattern == pattern {
			return r, true
		}
	}
	return Route{}, false
}
