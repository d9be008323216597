package aadsts

import "net/http"

// msgAppProblem is shown when the fault lies with the application's request
// rather than with the person: there is nothing they can fix at the prompt.
const msgAppProblem = "Sorry, but we're having trouble signing you in. The application's sign-in request isn't valid; contact the application's owner."

// protocolEntries covers client authentication, request shape and service
// conditions.
//
// Sources as for signInEntries. Entra answers invalid_client with 401 (seen
// on 7000215 and 7000218 bodies); everything a client can fix is 400.
var protocolEntries = []Entry{
	{
		Code: RedirectURIMismatch, Name: "InvalidReplyTo", OAuthError: errInvalidRequest, HTTPStatus: http.StatusBadRequest,
		// Verbs: the redirect_uri sent, then the client_id.
		Description:   "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.",
		FailureReason: "The reply URL specified in the request does not match the reply URLs configured for the application.",
		UserMessage:   msgAppProblem,
	},
	{
		Code: AuthCodeAlreadyRedeemed, Name: "AuthCodeAlreadyRedeemed", OAuthError: errInvalidGrant, HTTPStatus: http.StatusBadRequest,
		Description:   "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
		FailureReason: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
		UserMessage:   "Your session has expired. Please sign in again.",
	},
	{
		Code: CodeVerifierMismatch, Name: "InvalidCodeVerifier", OAuthError: errInvalidGrant, HTTPStatus: http.StatusBadRequest,
		Description:   "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
		FailureReason: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
		UserMessage:   msgAppProblem,
	},
	{
		Code: PKCERequired, Name: "PKCERequired", OAuthError: errInvalidRequest, HTTPStatus: http.StatusBadRequest,
		// Entra's text for a single-page app; Portcullis requires PKCE of
		// every public client.
		Description:   "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
		FailureReason: "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
		UserMessage:   msgAppProblem,
	},
	{
		Code: UserInteractionRequired, Name: "UserInteractionRequired", OAuthError: errLoginRequired, HTTPStatus: http.StatusBadRequest,
		Description:   "A silent sign-in request was sent but no user is signed in.",
		FailureReason: "User needs to sign in; silent sign-in (prompt=none) was requested without a signed-in user.",
		UserMessage:   "Please sign in.",
	},
	{
		Code: UnsupportedResponseType, Name: "UnsupportedResponseType", OAuthError: errUnsupportedResponseType, HTTPStatus: http.StatusBadRequest,
		// The verb is the response_type sent.
		Description:   "The provided value for the input parameter 'response_type' is not allowed for this client: '%s'. Expected value is 'code'.",
		FailureReason: "The response type requested is not allowed for this application.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       UnauthorizedClient,
		Name:       "UnauthorizedClient_DoesNotMatchRequest",
		OAuthError: errUnauthorizedClient,
		HTTPStatus: http.StatusBadRequest,
		// Verbs: the client_id, then the tenant (directory) name or ID.
		Description:   "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
		FailureReason: "Application with identifier '{appIdentifier}' was not found in the directory '{tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       InvalidClientSecret,
		Name:       "InvalidClientSecret",
		OAuthError: errInvalidClient,
		HTTPStatus: http.StatusUnauthorized,
		// The verb is the client_id ("app '...'").
		Description:   "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.",
		FailureReason: "Invalid client secret is provided.",
		UserMessage:   msgAppProblem,
	},
	{
		Code: MissingClientSecret,
		// Entra publishes no name for 7000218; this one is Portcullis's.
		Name:          "InvalidClientMissingCredential",
		OAuthError:    errInvalidClient,
		HTTPStatus:    http.StatusUnauthorized,
		Description:   "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
		FailureReason: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:          PublicClientWithCredential,
		Name:          "InvalidClientPublicClientWithCredential",
		OAuthError:    errInvalidClient,
		HTTPStatus:    http.StatusUnauthorized,
		Description:   "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
		FailureReason: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       GrantNotAllowedForApp,
		Name:       "UnauthorizedClient",
		OAuthError: errUnauthorizedClient,
		HTTPStatus: http.StatusBadRequest,
		// Portcullis-authored in Entra's style: Entra's published 70001 text
		// ("The application is disabled.") describes a different condition.
		// Verbs: the client_id, then the grant_type.
		Description:   "The application '%s' is not authorized to use the grant type '%s'.",
		FailureReason: "The application is not authorized to use the requested grant type. Contact the application owner.",
		UserMessage:   msgAppProblem,
	},
	{
		Code: MissingParameter,
		// Entra publishes no name for 900144; this one is Portcullis's.
		Name:       "MissingRequiredParameter",
		OAuthError: errInvalidRequest,
		HTTPStatus: http.StatusBadRequest,
		// The verb is the parameter name, e.g. 'grant_type'.
		Description:   "The request body must contain the following parameter: '%s'.",
		FailureReason: "The request body must contain the following parameter: '{name}'.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       InvalidRequestParameter,
		Name:       "InvalidRequestParameter",
		OAuthError: errInvalidRequest,
		HTTPStatus: http.StatusBadRequest,
		// The verb is the parameter name ("username parameter is ...").
		Description:   "%s parameter is empty or not valid.",
		FailureReason: "The parameter is empty or not valid.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       DuplicateParameter,
		Name:       "InvalidRequestFormatDuplicatedParameter",
		OAuthError: errInvalidRequest,
		HTTPStatus: http.StatusBadRequest,
		// The verb is the repeated parameter's name.
		Description:   "The request is not properly formatted. The parameter '%s' is duplicated.",
		FailureReason: "The request is not properly formatted. The parameter '{name}' is duplicated.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:          InvalidRequestFormat,
		Name:          "InvalidRequestFormat",
		OAuthError:    errInvalidRequest,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "The request is not properly formatted.",
		FailureReason: "The request is not properly formatted.",
		UserMessage:   msgAppProblem,
	},
	{
		Code: InvalidRequest,
		Name: "InvalidRequest",
		// Every pasted 9002313 body pairs it with invalid_grant: Entra
		// raises it when the code or refresh token cannot be parsed.
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "Invalid request. Request is malformed or invalid.",
		FailureReason: "Invalid request. Request is malformed or invalid.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       EndpointOnlyAcceptsPost,
		Name:       "BadResourceRequestInvalidRequest",
		OAuthError: errInvalidRequest,
		HTTPStatus: http.StatusBadRequest,
		// Entra templates both verbs; Portcullis fixes the accepted one to
		// POST (the only use) and fills the received method, e.g. "GET".
		Description:   "The endpoint only accepts POST requests. Received a %s request.",
		FailureReason: "The endpoint only accepts POST requests. Received a {invalid_verb} request.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       UnsupportedGrantType,
		Name:       "UnsupportedGrantType",
		OAuthError: errUnsupportedGrantType,
		HTTPStatus: http.StatusBadRequest,
		// The verb is the grant_type as sent.
		Description:   "The app requested an unsupported grant type '%s'.",
		FailureReason: "The application returned an unsupported grant type. Contact the application owner.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       InvalidScope,
		Name:       "InvalidScope",
		OAuthError: errInvalidScope,
		HTTPStatus: http.StatusBadRequest,
		// The verb is the scope value as sent.
		Description:   "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.",
		FailureReason: "The scope requested by the application is invalid. Contact the application owner.",
		UserMessage:   msgAppProblem,
	},
	{
		Code: ScopeMustBeDefaultForClientCredentials,
		// Entra publishes no name for 1002012; this one is Portcullis's.
		Name:       "InvalidScopeClientCredentialsRequiresDefault",
		OAuthError: errInvalidScope,
		HTTPStatus: http.StatusBadRequest,
		// The verb is the scope value as sent.
		Description:   "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
		FailureReason: "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
		UserMessage:   msgAppProblem,
	},
	{
		Code:       ResourceNotFound,
		Name:       "InvalidResourceServicePrincipalNotFound",
		OAuthError: errInvalidResource,
		HTTPStatus: http.StatusBadRequest,
		// Verbs: the resource (URI or app ID), then the tenant.
		Description:   "The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
		FailureReason: "The resource principal named {name} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
		UserMessage:   msgAppProblem,
	},
	{
		Code: InvalidTenantName,
		Name: "InvalidTenantName",
		// The token endpoint sends invalid_request; OIDC discovery sends
		// "invalid_tenant" for the same code, which a discovery handler
		// must set itself.
		OAuthError: errInvalidRequest,
		HTTPStatus: http.StatusBadRequest,
		// The verb is the tenant segment from the URL.
		Description:   "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
		FailureReason: "The tenant name wasn't found in the data store. Check to make sure you have the correct tenant ID.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:          MissingTenantForCommon,
		Name:          "MissingTenantRealmAndNoUserInformationProvided",
		OAuthError:    errInvalidRequest,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "No tenant-identifying information found in either the request or implied by any provided credentials.",
		FailureReason: "Tenant-identifying information was not found in either the request or implied by any provided credentials.",
		UserMessage:   msgAppProblem,
	},
	{
		Code:          ExpiredOrRevokedGrant,
		Name:          "ExpiredOrRevokedGrant",
		OAuthError:    errInvalidGrant,
		HTTPStatus:    http.StatusBadRequest,
		Description:   "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
		FailureReason: "The provided authorization code or refresh token is expired or has been revoked. Have the user retry signing in.",
		UserMessage:   "Your session has expired. Please sign in again.",
	},
	{
		Code: TenantThrottling,
		Name: "TenantThrottlingError",
		// No pasted 90055 body was found; temporarily_unavailable is the
		// OAuth error Entra uses for its other retry-later codes, and 429
		// with Retry-After is what MSAL's throttling logic honours.
		OAuthError: errTemporarilyUnavailable,
		HTTPStatus: http.StatusTooManyRequests,
		// Microsoft's reference text, minus its "This exception is thrown
		// for blocked tenants." gloss, which is documentation, not wire.
		Description:   "There are too many incoming requests.",
		FailureReason: "There are too many incoming requests. This exception is thrown for blocked tenants.",
		UserMessage:   "Too many sign-in requests. Wait a moment and try again.",
	},
	{
		Code:          Transient,
		Name:          "MsodsServiceUnavailable",
		OAuthError:    errTemporarilyUnavailable,
		HTTPStatus:    http.StatusServiceUnavailable,
		Description:   "A transient error has occurred. Please try again.",
		FailureReason: "A transient error has occurred. Please try again.",
		UserMessage:   "Something went wrong. Please try again in a moment.",
	},
	{
		Code:       InternalError,
		Name:       "TokenIssuanceError",
		OAuthError: errServerError,
		HTTPStatus: http.StatusInternalServerError,
		// Portcullis-authored from Microsoft's reference text ("There's an
		// issue with the sign-in service."); no wire body was found.
		Description:   "There was an error issuing a token or an issue with the sign-in service.",
		FailureReason: "There is an issue with our sign-in service.",
		UserMessage:   "Something went wrong. Please try again in a moment.",
	},
}
