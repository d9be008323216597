// Package rbac is the one place that decides what an administrator may do.
// Roles carry Microsoft Entra's names and role template IDs; each role
// grants a set of permissions; every admin route names the permission it
// needs (see routes.go), and a test checks every route against every role.
// docs/roles.md is generated from these tables.
//
// Two rules are not expressible as "role has permission" and live in
// functions here too: which users a role may reset passwords for or unlock
// (Entra protects administrators from lower administrators), and who may
// assign which roles.
package rbac

import (
	"slices"
	"strings"
)

// Permission is one thing an admin route does.
type Permission string

// The permissions, grouped by resource.
const (
	UsersRead           Permission = "users.read"
	UsersWrite          Permission = "users.write" // create, update, delete, enable, disable
	UsersResetPassword  Permission = "users.resetPassword"
	UsersRevokeSessions Permission = "users.revokeSessions"
	LockoutRead         Permission = "lockout.read" // per-user lockout status
	LockoutUnlock       Permission = "lockout.unlock"
	LockoutPolicyRead   Permission = "lockoutPolicy.read"
	LockoutPolicyWrite  Permission = "lockoutPolicy.write"
	RolesRead           Permission = "roles.read"
	RolesAssign         Permission = "roles.assign"
	AppsRead            Permission = "applications.read"
	AppsWrite           Permission = "applications.write"
	SignInsRead         Permission = "signIns.read"
	AuditRead           Permission = "directoryAudits.read"
	IPProtectionRead    Permission = "ipProtection.read" // blocks, feeds, named locations
	IPProtectionWrite   Permission = "ipProtection.write"
	// NamedLocationsWrite is separate from ipProtection.write: a trusted
	// location exempts a network from every automatic and feed block, so
	// defining one is Conditional Access administration, not incident
	// response (a Security Operator may block, not whitelist).
	NamedLocationsWrite Permission = "namedLocations.write"
	DiagnoseRead        Permission = "diagnose.read"
	PasswordPolicyRead  Permission = "passwordPolicy.read" // custom banned password terms
	PasswordPolicyWrite Permission = "passwordPolicy.write"
	SigningKeysRead     Permission = "signingKeys.read"
	// SigningKeysRotate is held by Global Administrator alone: a rotation
	// changes what every relying party must trust.
	SigningKeysRotate Permission = "signingKeys.rotate"
	// RiskyUsersWrite confirms users compromised (ending their sessions and
	// device cookies): incident response, as in Entra's Identity Protection.
	RiskyUsersWrite      Permission = "riskyUsers.write"
	PermissionsAllRead   Permission = "*.read" // pseudo-permission: every read
	PermissionsAllAccess Permission = "*"      // pseudo-permission: everything
)

// AllPermissions lists every real permission, in documentation order.
var AllPermissions = []Permission{
	UsersRead, UsersWrite, UsersResetPassword, UsersRevokeSessions, LockoutRead, LockoutUnlock,
	LockoutPolicyRead, LockoutPolicyWrite, RolesRead, RolesAssign, AppsRead, AppsWrite,
	SignInsRead, AuditRead, IPProtectionRead, IPProtectionWrite, NamedLocationsWrite, DiagnoseRead,
	PasswordPolicyRead, PasswordPolicyWrite, SigningKeysRead, SigningKeysRotate, RiskyUsersWrite,
}

// Role is a directory role: Entra's display name and role template ID
// (the value of the `wids` claim and of roleDefinitionId).
type Role struct {
	ID          string
	Name        string
	Description string
	Privileged  bool // Entra marks it privileged: protected from lower administrators
	Permissions []Permission
}

// Entra's role template IDs (the same in every tenant).
const (
	GlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	PrivilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	UserAdministrator             = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	HelpdeskAdministrator         = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	AuthenticationAdministrator   = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	SecurityAdministrator         = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	SecurityOperator              = "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f"
	SecurityReader                = "5d6b6bb7-de71-4623-b4af-96380a352509"
	ReportsReader                 = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	CloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	ApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	GlobalReader                  = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
)

// roles is the permission table. Each grant follows Entra's documented
// intent for the role, narrowed to what Portcullis has.
var roles = []Role{
	{ID: GlobalAdministrator, Name: "Global Administrator", Privileged: true,
		Description: "Can manage all aspects of the directory.",
		Permissions: []Permission{PermissionsAllAccess}},
	{ID: PrivilegedRoleAdministrator, Name: "Privileged Role Administrator", Privileged: true,
		Description: "Can manage role assignments, including Global Administrator.",
		Permissions: []Permission{RolesRead, RolesAssign, UsersRead, AuditRead}},
	{ID: UserAdministrator, Name: "User Administrator", Privileged: true,
		Description: "Can manage users, reset passwords and unlock accounts of non-administrators and limited administrators.",
		Permissions: []Permission{UsersRead, UsersWrite, UsersResetPassword, UsersRevokeSessions, LockoutRead,
			LockoutUnlock, RolesRead, SignInsRead, AuditRead, DiagnoseRead}},
	{ID: HelpdeskAdministrator, Name: "Helpdesk Administrator", Privileged: true,
		Description: "Can reset passwords and unlock accounts of non-administrators and other Helpdesk Administrators.",
		Permissions: []Permission{UsersRead, UsersResetPassword, UsersRevokeSessions, LockoutRead, LockoutUnlock,
			SignInsRead, DiagnoseRead}},
	{ID: AuthenticationAdministrator, Name: "Authentication Administrator", Privileged: true,
		Description: "Can manage authentication of non-administrators and some administrators: reset passwords, unlock, revoke sessions.",
		Permissions: []Permission{UsersRead, UsersResetPassword, UsersRevokeSessions, LockoutRead, LockoutUnlock,
			SignInsRead, AuditRead, DiagnoseRead}},
	{ID: SecurityAdministrator, Name: "Security Administrator", Privileged: true,
		Description: "Can manage security features: lockout policy, IP protection, named locations; reads sign-in and audit logs.",
		Permissions: []Permission{UsersRead, LockoutRead, LockoutPolicyRead, LockoutPolicyWrite, IPProtectionRead,
			IPProtectionWrite, NamedLocationsWrite, SignInsRead, AuditRead, RolesRead, AppsRead, DiagnoseRead,
			PasswordPolicyRead, PasswordPolicyWrite, SigningKeysRead, RiskyUsersWrite}},
	{ID: SecurityOperator, Name: "Security Operator",
		Description: "Can respond to attacks: block and unblock addresses, refresh feeds; reads security information and logs.",
		Permissions: []Permission{UsersRead, LockoutRead, LockoutPolicyRead, IPProtectionRead, IPProtectionWrite,
			SignInsRead, AuditRead, DiagnoseRead, PasswordPolicyRead, RiskyUsersWrite}},
	{ID: SecurityReader, Name: "Security Reader",
		Description: "Can read security information, sign-in and audit logs.",
		Permissions: []Permission{UsersRead, LockoutRead, LockoutPolicyRead, IPProtectionRead, SignInsRead, AuditRead,
			RolesRead, DiagnoseRead, PasswordPolicyRead, SigningKeysRead}},
	{ID: ReportsReader, Name: "Reports Reader",
		Description: "Can read sign-in and audit reports.",
		Permissions: []Permission{SignInsRead, AuditRead, DiagnoseRead}},
	{ID: CloudApplicationAdministrator, Name: "Cloud Application Administrator", Privileged: true,
		Description: "Can manage app registrations; reads sign-in and audit logs.",
		Permissions: []Permission{AppsRead, AppsWrite, UsersRead, SignInsRead, AuditRead, DiagnoseRead, SigningKeysRead}},
	{ID: ApplicationAdministrator, Name: "Application Administrator", Privileged: true,
		Description: "Can manage all aspects of app registrations; reads sign-in and audit logs.",
		Permissions: []Permission{AppsRead, AppsWrite, UsersRead, SignInsRead, AuditRead, DiagnoseRead, SigningKeysRead}},
	{ID: GlobalReader, Name: "Global Reader",
		Description: "Can read everything a Global Administrator can, but change nothing.",
		Permissions: []Permission{PermissionsAllRead}},
}

// Roles returns every role in table order.
func Roles() []Role {
	out := slices.Clone(roles)
	for i := range out {
		out[i].Permissions = slices.Clone(out[i].Permissions)
	}
	return out
}

// RoleByID finds a role by template ID.
func RoleByID(id string) (Role, bool) {
	for _, r := range roles {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return Role{}, false
}

// RoleByName finds a role by display name, case-insensitively.
func RoleByName(name string) (Role, bool) {
	for _, r := range roles {
		if strings.EqualFold(r.Name, strings.TrimSpace(name)) {
			return r, true
		}
	}
	return Role{}, false
}

// Grants reports whether role r grants permission p.
func (r Role) Grants(p Permission) bool {
	for _, have := range r.Permissions {
		switch {
		case have == p, have == PermissionsAllAccess:
			return true
		case have == PermissionsAllRead && strings.HasSuffix(string(p), ".read"):
			return true
		}
	}
	return false
}

// Allowed reports whether any of the role IDs grants p.
func Allowed(roleIDs []string, p Permission) bool {
	for _, id := range roleIDs {
		if r, ok := RoleByID(id); ok && r.Grants(p) {
			return true
		}
	}
	return false
}
