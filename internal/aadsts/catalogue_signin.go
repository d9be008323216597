package aadsts

import "net/http"

// msgBadCredentials is shared by every "these credentials don't work"
// outcome so the prompt cannot be used to learn whether an account exists.
// It is Entra's own prompt wording.
const msgBadCredentials = "Your account or password is incorrect."

// signInEntries covers credentials, account state and sign-in policy.
//
// Sources: Description is the error_description text seen in real Entra
// bodies pasted into public GitHub issues unless noted; FailureReason is the
// sign-in log text from Microsoft's sign-in error code reference.
var signInEntries = []Entry{
	{
		Code:       IdsLocked,
		Name:       "IdsLocked",
		OAuthError: errInvalidGrant,
		HTTPStatus: http.StatusBadRequest,
		// The wording Entra has sent since ~2020 (MSAL and az bodies).
		Description:   "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
		FailureReason: "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
		UserMessage:   "Your account is temporarily locked to prevent unauthorized use. Try again later, and if you still have trouble, contact your admin.",
	},
	{
		Code:          InvalidUserNameOrPassword,
		Name:          "InvalidUserNameOrPassword",
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "Error validating credentials due to invalid username or password.",
		FailureReason: "Error validating credentials due to invalid username or password.",
		UserMessage:   msgBadCredentials,
	},
	{
		Code:       UserAccountNotFound,
		Name:       "UserAccountNotFound",
		OAuthError: errInvalidGrant,
		HTTPStatus: http.StatusBadRequest,
		// "{EmailHidden}" is literal: Entra redacts the UPN in this text.
		// The verb is the directory (tenant) name.
		Description:   "The user account {EmailHidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.",
		FailureReason: "The user account does not exist in the directory.",
		UserMessage:   msgBadCredentials,
	},
	{
		Code:          UserDisabled,
		Name:          "UserDisabled",
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "The user account is disabled.",
		FailureReason: "User account is disabled. The account has been disabled by an administrator.",
		// Entra's prompt text. Like Entra, emit this only after the password
		// has been verified, or it would confirm the account exists.
		UserMessage: "Your account has been locked. Contact your support person to unlock it, then try again.",
	},
	{
		Code:          PasswordExpired,
		Name:          "InvalidPasswordExpiredPassword",
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "The password is expired.",
		FailureReason: "The user's password is expired, and therefore their login or session was ended.",
		UserMessage:   "Your password has expired. Update your password to continue.",
	},
	{
		Code:          InvalidOrNullPassword,
		Name:          "InvalidOrNullPassword",
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "Invalid or missing password: password does not exist in the directory for this user.",
		FailureReason: "Invalid or null password - password does not exist in the directory for this user.",
		// Same as a wrong password: an account without a password must not
		// be distinguishable at the prompt.
		UserMessage: msgBadCredentials,
	},
	{
		Code:          UserStrongAuthClientAuthNRequiredInterrupt,
		Name:          "UserStrongAuthClientAuthNRequiredInterrupt",
		OAuthError:    errInteractionRequired,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "Strong Authentication is required.",
		FailureReason: "Strong Authentication is required.",
		UserMessage:   "More information is required to verify your identity. Complete multifactor authentication to continue.",
	},
	{
		Code: UserStrongAuthClientAuthNRequired,
		Name: "UserStrongAuthClientAuthNRequired",
		// Entra answers interaction_required (CLI, device and code flows)
		// and, on some ROPC paths, invalid_grant with suberror
		// basic_action; interaction_required is what tells a client to go
		// interactive, so Portcullis uses it everywhere.
		OAuthError: errInteractionRequired,
		HTTPStatus: http.StatusBadRequest,
		// The verb is the resource (application ID or URI) being accessed.
		Description:   "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.",
		FailureReason: "User did not pass the MFA challenge (non interactive).",
		UserMessage:   "More information is required to verify your identity. Complete multifactor authentication to continue.",
	},
	{
		Code:       UserStrongAuthEnrollmentRequired,
		Name:       "UserStrongAuthEnrollmentRequired",
		OAuthError: errInteractionRequired,
		HTTPStatus: http.StatusBadRequest,
		// Entra's 50079 counterpart of the 50076 text ("enroll in" for "use");
		// not confirmed from a pasted body (older bodies said "Strong
		// authentication enrollment (proof-up) is required.").
		Description:   "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '%s'.",
		FailureReason: "User needs to enroll for two factor authentication (non-interactive logins).",
		UserMessage:   "Your organization needs more information to keep your account secure. Register a multifactor authentication method to continue.",
	},
	{
		Code:       MFAAuthFailed,
		Name:       "AuthenticationFailed",
		OAuthError: errInvalidGrant,
		HTTPStatus: http.StatusBadRequest,
		// Microsoft's sign-in log text; Entra shows 500121 at the prompt
		// rather than in a token response, so no wire body was found.
		Description:   "Authentication failed during strong authentication request.",
		FailureReason: "Authentication failed during strong authentication request.",
		UserMessage:   "We couldn't verify your identity. Try signing in again.",
	},
	{
		Code:          DeviceNotCompliant,
		Name:          "DeviceNotCompliant",
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "Device is not in required device state: compliant. Conditional Access policy requires a compliant device, and the device is not compliant. The user must enroll their device with an approved MDM provider like Intune.",
		FailureReason: "Device is not in required device state: compliant. Conditional Access policy requires a compliant device, and the device is not compliant. The user must enroll their device with an approved MDM provider like Intune.",
		UserMessage:   "This device doesn't meet your organization's requirements to access this resource.",
	},
	{
		Code:          BlockedByConditionalAccess,
		Name:          "BlockedByConditionalAccess",
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
		FailureReason: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
		UserMessage:   "You cannot access this right now. Your sign-in does not meet the criteria to access this resource.",
	},
	{
		Code:       ProofUpBlockedDueToRisk,
		Name:       "ProofUpBlockedDueToRisk",
		OAuthError: errInvalidGrant,
		HTTPStatus: http.StatusBadRequest,
		// Microsoft's reference-page text; no wire body was found.
		Description:   "User needs to complete the multifactor authentication registration process before accessing this content. User should register for multifactor authentication.",
		FailureReason: "User needs to complete Multi-factor authentication registration process before accessing this content. User should register for multi-factor authentication.",
		UserMessage:   "You can't register security info right now. Contact your admin.",
	},
	{
		Code:          SessionInvalidDueToPasswordChange,
		Name:          "SsoArtifactRevoked",
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "Session is invalid due to expiration or recent password change.",
		FailureReason: "Session is invalid due to expiration or recent password change.",
		UserMessage:   "Your session has expired. Please sign in again.",
	},
	{
		Code:       FreshTokenNeeded,
		Name:       "FreshTokenNeeded",
		OAuthError: errInvalidGrant,
		HTTPStatus: http.StatusBadRequest,
		// Verbs: the grant's issue time, then the user's TokensValidFrom,
		// both as Entra prints them (e.g. '2021-01-05T05:09:31.5970000Z').
		Description:   "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
		FailureReason: "Fresh auth token is needed. Have the user sign-in again using fresh credentials.",
		UserMessage:   "Your session has expired. Please sign in again.",
	},
	{
		Code: PasswordChangeCompromisedPassword,
		Name: "PasswordChangeCompromisedPassword",
		// The one pasted body found pairs 50135 with invalid_request.
		OAuthError:    errInvalidRequest,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "Password change is required due to account risk.",
		FailureReason: "Password change is required due to account risk.",
		UserMessage:   "You need to change your password before you can sign in.",
	},
}
