package aadsts

// Reason is one failure reason a code can carry in the sign-in log, with
// what to do about it, for this product: exact commands (CLI, with the
// admin API call where there is one), in the order to try them.
type Reason struct {
	FailureReason string
	Remediation   []string
}

// Reasons lists the failure reasons c can carry, the entry's own first.
func Reasons(c Code) []Reason {
	e, ok := byCode[c]
	if !ok {
		return nil
	}
	out := []Reason{{FailureReason: e.FailureReason, Remediation: remediation[c]}}
	return append(out, moreReasons[c]...)
}

// Steps shared by the codes that are the application's fault.
var (
	fixAppRegistration = []string{
		"Check the app registration: portcullis apps list -o json (GET /v1.0/applications).",
		"Compare the request with docs/protocol.md; the error_description names the parameter at fault.",
		"Nothing is wrong with the user's account: there is nothing to unlock or reset.",
	}
	fixRequest = []string{
		"Fix the request the application sends; the error_description names the parameter at fault.",
		"See docs/protocol.md for the parameters each endpoint takes.",
		"Nothing is wrong with the user's account.",
	}
	signInAgain = []string{
		"The user signs in again; the application should start a new interactive sign-in.",
		"If this repeats for one user, look at their sign-ins: portcullis signins list --user UPN --since 24h.",
	}
	noMFA = []string{
		"Portcullis does not ask for a second factor yet; this code is not emitted by this version.",
		"Look at the sign-in record for the real cause: portcullis signins show ID.",
	}
)

var remediation = map[Code][]string{
	IdsLocked: {
		"Find out whether the lock is the user's doing or an attack: portcullis diagnose --user UPN.",
		"Unlock if the user is known to have mistyped: portcullis users unlock UPN --reason TEXT (POST /v1.0/portcullis/users/{id}/lockout/unlock).",
		"If the password may be known to someone else, reset it: portcullis users set-password UPN (POST /v1.0/users/{id}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword).",
		"If the user signs in from a fixed office network, trust it: portcullis locations add --name Office --cidr CIDR --trusted.",
		"The user can wait until the lock ends (portcullis users lockout-status UPN), or sign in from a browser where they signed in before (device cookie), which has its own budget.",
		"Remind the user that a password manager avoids repeated mistypes.",
	},
	InvalidUserNameOrPassword: {
		"The password was wrong. If the user says it was right, reset it: portcullis users set-password UPN.",
		"Many of these from one address across accounts is password spray: portcullis diagnose --user UPN shows the pattern.",
	},
	UserAccountNotFound: {
		"No account has this name (the person was told only that the password was wrong). Check the spelling: portcullis users show UPN.",
		"Create the account if it should exist: portcullis users add --upn UPN --display-name NAME.",
		"Many unknown names from one address is an enumeration or spray attempt: portcullis ips check ADDRESS.",
	},
	UserDisabled: {
		"The account is disabled (the password was right). Enable it if it should sign in: portcullis users enable UPN (PATCH /v1.0/users/{id} {\"accountEnabled\":true}).",
		"Check who disabled it and why: portcullis audit list --target UPN.",
	},
	PasswordExpired: {
		"The user must choose a new password; browser sign-in shows the change page after the right password.",
		"Apps using the password grant cannot change passwords: the user signs in once in a browser, or an administrator resets it: portcullis users set-password UPN.",
	},
	InvalidOrNullPassword: {
		"The request carried no password, or the account has none set. Set one: portcullis users set-password UPN.",
	},
	UserStrongAuthClientAuthNRequired:          noMFA,
	UserStrongAuthClientAuthNRequiredInterrupt: noMFA,
	UserStrongAuthEnrollmentRequired:           noMFA,
	MFAAuthFailed:                              noMFA,
	BlockedByConditionalAccess: {
		"Conditional access is not enforced by this version; look at the sign-in record for the real cause: portcullis signins show ID.",
	},
	DeviceNotCompliant: {
		"Device compliance is not checked by this version; look at the sign-in record for the real cause: portcullis signins show ID.",
	},
	ProofUpBlockedDueToRisk: {
		"Risk-based policies are not enforced by this version; look at the sign-in record for the real cause: portcullis signins show ID.",
	},
	SessionInvalidDueToPasswordChange: signInAgain,
	FreshTokenNeeded: {
		"The user's sessions were revoked, or the password changed, after this token was issued: the user signs in again.",
		"See who revoked them: portcullis audit list --target UPN.",
	},
	PasswordChangeCompromisedPassword: {
		"Reset the password and tell the user: portcullis users set-password UPN.",
	},
	UnauthorizedClient:                     fixAppRegistration,
	InvalidClientSecret:                    {"The client secret is wrong or expired. Add a new one: portcullis apps secret add CLIENT-ID (POST /v1.0/applications/{id}/addPassword), update the app, then remove the old: portcullis apps secret remove CLIENT-ID KEY-ID."},
	MissingClientSecret:                    {"A confidential app must send its client secret (client_secret or HTTP Basic). Add one if it has none: portcullis apps secret add CLIENT-ID."},
	PublicClientWithCredential:             {"A public client (mobile, desktop, single-page) must not send a secret: remove it from the request, or register the app as confidential."},
	GrantNotAllowedForApp:                  {"The app may not use this grant. Allow the password grant only if it must: PATCH /v1.0/applications/{id} {\"portcullisAllowPasswordGrant\":true}; register a redirect URI for browser sign-in."},
	MissingParameter:                       fixRequest,
	InvalidRequestParameter:                fixRequest,
	DuplicateParameter:                     fixRequest,
	InvalidRequestFormat:                   fixRequest,
	InvalidRequest:                         {"The code or refresh token is not one this server issued, or was issued to another app: the application signs the user in again."},
	EndpointOnlyAcceptsPost:                fixRequest,
	UnsupportedGrantType:                   fixRequest,
	InvalidScope:                           fixRequest,
	ScopeMustBeDefaultForClientCredentials: {"Ask for the resource's default scope: scope=RESOURCE/.default."},
	ResourceNotFound:                       {"The scope names an API that is not registered in this tenant: check the resource's app ID with portcullis apps list."},
	InvalidTenantName:                      {"The tenant in the URL does not exist: use the tenant ID or a verified domain (portcullis config validate prints the public URL; GET /{tenant}/v2.0/.well-known/openid-configuration checks it)."},
	MissingTenantForCommon:                 {"Send this request to the tenant's own endpoint (/{tenant-id}/oauth2/v2.0/token) instead of /common or /organizations."},
	ExpiredOrRevokedGrant:                  signInAgain,
	TenantThrottling: {
		"The server is shedding load: the client retries after the Retry-After seconds.",
		"Under attack, see who is sending it: portcullis signins list --status failure --since 1h, then portcullis ips block PREFIX --reason TEXT.",
		"Sized too small for real load: raise passwords.hash_concurrency or add cores (docs/performance.md).",
	},
	Transient: {
		"A temporary server-side failure: the client retries.",
		"If it persists, check the server's log and GET /readyz (the database).",
	},
	InternalError:           {"Check the server's log for the request ID in the error; report it if it repeats."},
	RedirectURIMismatch:     {"Register the exact redirect URI the app sends: PATCH /v1.0/applications/{id} with web.redirectUris or publicClient.redirectUris, or fix the app's configuration."},
	AuthCodeAlreadyRedeemed: {"The app redeemed a code twice (a retry, or an intercepted code): fix the app to redeem each code once; the refresh tokens of the first redemption were revoked, so the user signs in again."},
	CodeVerifierMismatch:    {"The app sent a code_verifier that does not belong to the code's code_challenge: fix the app's PKCE handling."},
	PKCERequired:            {"Public clients must use PKCE: send code_challenge and code_challenge_method=S256 (every OAuth library can)."},
	UserInteractionRequired: {"prompt=none found no signed-in user: the app starts an interactive sign-in."},
	UnsupportedResponseType: {"Use response_type=code: Portcullis supports the authorization code flow only."},
}

// moreReasons are failure reasons beyond the entry's own.
var moreReasons = map[Code][]Reason{
	IdsLocked: {{FailureReason: FailureReasonMaliciousIP, Remediation: []string{
		"See which feed, rule or administrator blocked the address, with the evidence: portcullis ips check ADDRESS (GET /v1.0/portcullis/ips/{ip}).",
		"If it is a false positive (an office NAT, a VPN), lift the block: portcullis ips unblock ID --reason TEXT (DELETE /v1.0/portcullis/ipBlocks/{id}).",
		"If the network is the company's own, trust it so automatic and feed blocks never apply: portcullis locations add --name Office --cidr CIDR --trusted.",
		"The user can sign in from another network, or from a browser where they signed in before (a device cookie passes an automatic block).",
	}}},
}
