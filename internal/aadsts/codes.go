package aadsts

// Sign-in (credential, account and policy) codes.
const (
	// IdsLocked: smart lockout. Entra also uses 50053 for sign-ins blocked
	// from a malicious IP; the sign-in log then carries
	// FailureReasonMaliciousIP instead of the entry's FailureReason.
	IdsLocked Code = 50053
	// InvalidUserNameOrPassword: wrong password for an existing account.
	InvalidUserNameOrPassword Code = 50126
	// UserAccountNotFound: no such account in the tenant.
	UserAccountNotFound Code = 50034
	// UserDisabled: the account exists but is disabled.
	UserDisabled Code = 50057
	// PasswordExpired is Entra's InvalidPasswordExpiredPassword.
	PasswordExpired Code = 50055
	// InvalidOrNullPassword: the account has no password credential.
	InvalidOrNullPassword Code = 50056
	// UserStrongAuthClientAuthNRequired: MFA is required to continue.
	UserStrongAuthClientAuthNRequired Code = 50076
	// UserStrongAuthClientAuthNRequiredInterrupt: MFA interrupt at the prompt.
	UserStrongAuthClientAuthNRequiredInterrupt Code = 50074
	// UserStrongAuthEnrollmentRequired: the user must register an MFA method.
	UserStrongAuthEnrollmentRequired Code = 50079
	// MFAAuthFailed: the second factor was presented and failed (Entra logs
	// this as "Authentication failed during strong authentication request").
	MFAAuthFailed Code = 500121
	// BlockedByConditionalAccess: a policy denies token issuance.
	BlockedByConditionalAccess Code = 53003
	// DeviceNotCompliant: a policy requires a compliant device. (53004 is not
	// this; see ProofUpBlockedDueToRisk.)
	DeviceNotCompliant Code = 53000
	// ProofUpBlockedDueToRisk: MFA registration is blocked because of risk.
	ProofUpBlockedDueToRisk Code = 53004
	// SessionInvalidDueToPasswordChange is Entra's SsoArtifactRevoked: the
	// SSO session predates a password change or expiry.
	SessionInvalidDueToPasswordChange Code = 50133
	// FreshTokenNeeded: a refresh token was revoked (password reset or
	// admin revocation).
	FreshTokenNeeded Code = 50173
	// PasswordChangeCompromisedPassword: risk requires a password change.
	PasswordChangeCompromisedPassword Code = 50135
)

// Protocol, client and service codes.
const (
	// UnauthorizedClient is Entra's UnauthorizedClient_DoesNotMatchRequest:
	// the client_id is not registered in the tenant.
	UnauthorizedClient Code = 700016
	// InvalidClientSecret: client_secret does not match.
	InvalidClientSecret Code = 7000215
	// MissingClientSecret: a confidential client sent no credential.
	MissingClientSecret Code = 7000218
	// PublicClientWithCredential: a public client sent a credential.
	PublicClientWithCredential Code = 700025
	// GrantNotAllowedForApp: the app may not use the requested grant type.
	// Entra publishes no dedicated code for this; 70001 is its
	// "UnauthorizedClient" code and pairs with RFC 6749's unauthorized_client
	// ("not authorized to use this authorization grant type").
	GrantNotAllowedForApp Code = 70001
	// MissingParameter: a required body parameter is absent.
	MissingParameter Code = 900144
	// InvalidContentType aliases MissingParameter on purpose: a token POST
	// whose body is not application/x-www-form-urlencoded is parsed as empty
	// by Entra, which then answers AADSTS900144 for 'grant_type'. Call
	// Describe(InvalidContentType, "grant_type") to match.
	InvalidContentType = MissingParameter
	// InvalidRequestParameter: a parameter is present but empty or invalid.
	InvalidRequestParameter Code = 90100
	// DuplicateParameter is Entra's InvalidRequestFormatDuplicatedParameter:
	// a parameter appears more than once (RFC 6749 §3.1 forbids repeats).
	DuplicateParameter Code = 9000411
	// InvalidRequestFormat: the request is not properly formatted. The
	// generic code for a body Portcullis cannot parse.
	InvalidRequestFormat Code = 90004
	// RequestBodyTooLarge aliases InvalidRequestFormat: Entra has no
	// body-size code (AADSTS90015 covers only an over-long query string), so
	// an oversized body is reported as a badly formatted request.
	RequestBodyTooLarge = InvalidRequestFormat
	// InvalidRequest: a presented grant (code, refresh token) is malformed.
	// Entra pairs 9002313 with invalid_grant on the wire, not
	// invalid_request; use InvalidRequestFormat for a malformed body.
	InvalidRequest Code = 9002313
	// EndpointOnlyAcceptsPost: wrong HTTP method on a POST-only endpoint.
	EndpointOnlyAcceptsPost Code = 900561
	// UnsupportedGrantType: grant_type is not one Portcullis implements.
	UnsupportedGrantType Code = 70003
	// InvalidScope: the scope parameter is not valid.
	InvalidScope Code = 70011
	// ScopeMustBeDefaultForClientCredentials: client_credentials needs a
	// "<resource>/.default" scope.
	ScopeMustBeDefaultForClientCredentials Code = 1002012
	// ResourceNotFound is Entra's InvalidResourceServicePrincipalNotFound.
	ResourceNotFound Code = 500011
	// InvalidTenantName: the tenant in the URL does not exist.
	InvalidTenantName Code = 90002
	// MissingTenantForCommon is Entra's
	// MissingTenantRealmAndNoUserInformationProvided, e.g. client_credentials
	// sent to /common.
	MissingTenantForCommon Code = 50059
	// ExpiredOrRevokedGrant: a code or refresh token expired from inactivity.
	ExpiredOrRevokedGrant Code = 70008
	// TenantThrottling is Portcullis's throttling code (HTTP 429).
	TenantThrottling Code = 90055
	// Transient: a retryable back-end failure (Entra's
	// MsodsServiceUnavailable).
	Transient Code = 90033
	// InternalError: an unexpected, non-retryable failure issuing a token.
	InternalError Code = 50000
)

// Browser sign-in (authorization code flow) codes.
const (
	// RedirectURIMismatch: redirect_uri is not one the app registered.
	RedirectURIMismatch Code = 50011
	// AuthCodeAlreadyRedeemed: an authorization code was presented twice.
	AuthCodeAlreadyRedeemed Code = 54005
	// CodeVerifierMismatch: code_verifier does not match code_challenge.
	CodeVerifierMismatch Code = 501481
	// PKCERequired: a public client asked for a code without code_challenge.
	PKCERequired Code = 9002325
	// UserInteractionRequired is Entra's 50058 for prompt=none without a
	// signed-in user (OAuth error login_required).
	UserInteractionRequired Code = 50058
	// UnsupportedResponseType: response_type other than code.
	UnsupportedResponseType Code = 70005
)

// FailureReasonMaliciousIP is the sign-in log failureReason Entra records
// with code 50053 when the block came from IP reputation rather than smart
// lockout. It is not an Entry of its own because the code is the same.
var FailureReasonMaliciousIP = "Sign-in was blocked because it came from an IP address with malicious activity."
