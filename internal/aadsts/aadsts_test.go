package aadsts

import (
	"net/http"
	"strings"
	"testing"
)

// namedCodes lists every exported constant so the tests prove each one has a
// catalogue entry; a constant without data would panic in MustLookup at the
// worst moment, on an error path.
var namedCodes = map[string]Code{
	"IdsLocked":                                  IdsLocked,
	"InvalidUserNameOrPassword":                  InvalidUserNameOrPassword,
	"UserAccountNotFound":                        UserAccountNotFound,
	"UserDisabled":                               UserDisabled,
	"PasswordExpired":                            PasswordExpired,
	"InvalidOrNullPassword":                      InvalidOrNullPassword,
	"UserStrongAuthClientAuthNRequired":          UserStrongAuthClientAuthNRequired,
	"UserStrongAuthClientAuthNRequiredInterrupt": UserStrongAuthClientAuthNRequiredInterrupt,
	"UserStrongAuthEnrollmentRequired":           UserStrongAuthEnrollmentRequired,
	"MFAAuthFailed":                              MFAAuthFailed,
	"BlockedByConditionalAccess":                 BlockedByConditionalAccess,
	"DeviceNotCompliant":                         DeviceNotCompliant,
	"ProofUpBlockedDueToRisk":                    ProofUpBlockedDueToRisk,
	"SessionInvalidDueToPasswordChange":          SessionInvalidDueToPasswordChange,
	"FreshTokenNeeded":                           FreshTokenNeeded,
	"PasswordChangeCompromisedPassword":          PasswordChangeCompromisedPassword,
	"UnauthorizedClient":                         UnauthorizedClient,
	"InvalidClientSecret":                        InvalidClientSecret,
	"MissingClientSecret":                        MissingClientSecret,
	"PublicClientWithCredential":                 PublicClientWithCredential,
	"GrantNotAllowedForApp":                      GrantNotAllowedForApp,
	"MissingParameter":                           MissingParameter,
	"InvalidContentType":                         InvalidContentType,
	"InvalidRequestParameter":                    InvalidRequestParameter,
	"DuplicateParameter":                         DuplicateParameter,
	"InvalidRequestFormat":                       InvalidRequestFormat,
	"RequestBodyTooLarge":                        RequestBodyTooLarge,
	"InvalidRequest":                             InvalidRequest,
	"EndpointOnlyAcceptsPost":                    EndpointOnlyAcceptsPost,
	"UnsupportedGrantType":                       UnsupportedGrantType,
	"InvalidScope":                               InvalidScope,
	"ScopeMustBeDefaultForClientCredentials":     ScopeMustBeDefaultForClientCredentials,
	"ResourceNotFound":                           ResourceNotFound,
	"InvalidTenantName":                          InvalidTenantName,
	"MissingTenantForCommon":                     MissingTenantForCommon,
	"ExpiredOrRevokedGrant":                      ExpiredOrRevokedGrant,
	"TenantThrottling":                           TenantThrottling,
	"Transient":                                  Transient,
	"InternalError":                              InternalError,
}

func TestEveryConstantHasAnEntry(t *testing.T) {
	for name, c := range namedCodes {
		if _, ok := Lookup(c); !ok {
			t.Errorf("%s (%d) has no catalogue entry", name, c)
		}
	}
}

func TestEveryEntryIsComplete(t *testing.T) {
	allowedStatus := map[int]bool{
		http.StatusBadRequest:          true,
		http.StatusUnauthorized:        true,
		http.StatusForbidden:           true,
		http.StatusTooManyRequests:     true,
		http.StatusInternalServerError: true,
		http.StatusServiceUnavailable:  true,
	}
	for _, e := range catalogue() {
		if e.Code <= 0 {
			t.Errorf("entry with non-positive code %d", e.Code)
		}
		for field, v := range map[string]string{
			"Name":          e.Name,
			"OAuthError":    e.OAuthError,
			"Description":   e.Description,
			"FailureReason": e.FailureReason,
			"UserMessage":   e.UserMessage,
		} {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: empty %s", e.Code, field)
			}
		}
		if !allowedStatus[e.HTTPStatus] {
			t.Errorf("%s: HTTPStatus %d not in {400,401,403,429,500,503}", e.Code, e.HTTPStatus)
		}
		// Only Description is a format string; a stray % elsewhere would be
		// printed literally by callers and look like a bug.
		for field, v := range map[string]string{"FailureReason": e.FailureReason, "UserMessage": e.UserMessage} {
			if strings.Contains(v, "%") {
				t.Errorf("%s: %s contains %%: %q", e.Code, field, v)
			}
		}
		// countVerbs does not model '*' or explicit indexes.
		if strings.Contains(e.Description, "%*") || strings.Contains(e.Description, "%[") {
			t.Errorf("%s: Description uses '*' or an explicit index: %q", e.Code, e.Description)
		}
		// The wire text is appended after "AADSTSnnnnn: "; repeating the
		// prefix would produce "AADSTS50053: AADSTS50053: ...".
		if strings.HasPrefix(e.Description, "AADSTS") {
			t.Errorf("%s: Description repeats the code prefix", e.Code)
		}
	}
}

func TestStatusMatchesOAuthError(t *testing.T) {
	// Clients key retry and re-auth logic on these pairs, so pin them.
	want := map[string]int{
		errInvalidClient:           http.StatusUnauthorized,
		errServerError:             http.StatusInternalServerError,
		errInvalidGrant:            http.StatusBadRequest,
		errInvalidRequest:          http.StatusBadRequest,
		errInvalidScope:            http.StatusBadRequest,
		errUnsupportedGrantType:    http.StatusBadRequest,
		errUnauthorizedClient:      http.StatusBadRequest,
		errInteractionRequired:     http.StatusBadRequest,
		errLoginRequired:           http.StatusBadRequest,
		errUnsupportedResponseType: http.StatusBadRequest,
		errInvalidResource:         http.StatusBadRequest,
		errTemporarilyUnavailable:  0, // 429 or 503, checked below
	}
	for _, e := range All() {
		w, known := want[e.OAuthError]
		if !known {
			t.Errorf("%s: unexpected OAuthError %q", e.Code, e.OAuthError)
			continue
		}
		if w == 0 {
			if e.HTTPStatus != http.StatusTooManyRequests && e.HTTPStatus != http.StatusServiceUnavailable {
				t.Errorf("%s: temporarily_unavailable with status %d", e.Code, e.HTTPStatus)
			}
			continue
		}
		if e.HTTPStatus != w {
			t.Errorf("%s: %s with status %d, want %d", e.Code, e.OAuthError, e.HTTPStatus, w)
		}
	}
	if got := MustLookup(TenantThrottling).HTTPStatus; got != http.StatusTooManyRequests {
		t.Errorf("TenantThrottling status = %d, want 429", got)
	}
}

func TestCodesAreUnique(t *testing.T) {
	seen := map[Code]bool{}
	for _, e := range catalogue() {
		if seen[e.Code] {
			t.Errorf("duplicate entry for %s", e.Code)
		}
		seen[e.Code] = true
	}
}

func TestAllIsSortedAndComplete(t *testing.T) {
	all := All()
	if len(all) != len(catalogue()) {
		t.Fatalf("All() has %d entries, catalogue has %d", len(all), len(catalogue()))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Code >= all[i].Code {
			t.Errorf("All() not sorted: %s before %s", all[i-1].Code, all[i].Code)
		}
	}
	// A fresh copy each call: callers must not be able to corrupt the table.
	all[0].Description = "tampered"
	if All()[0].Description == "tampered" {
		t.Error("All() returned shared backing storage")
	}
}

func TestNoAccountEnumeration(t *testing.T) {
	wrongPassword := MustLookup(InvalidUserNameOrPassword).UserMessage
	for _, c := range []Code{UserAccountNotFound, InvalidOrNullPassword} {
		if got := MustLookup(c).UserMessage; got != wrongPassword {
			t.Errorf("%s UserMessage %q differs from 50126's %q: reveals whether the account exists", c, got, wrongPassword)
		}
	}
}

func TestSpecifiedTexts(t *testing.T) {
	// Texts Portcullis's spec or Microsoft's logs pin exactly.
	cases := []struct {
		got, want string
	}{
		{MustLookup(IdsLocked).FailureReason, "Account is locked because user tried to sign in too many times with an incorrect user ID or password."},
		{MustLookup(InvalidUserNameOrPassword).FailureReason, "Error validating credentials due to invalid username or password."},
		{MustLookup(UserAccountNotFound).FailureReason, "The user account does not exist in the directory."},
		{FailureReasonMaliciousIP, "Sign-in was blocked because it came from an IP address with malicious activity."},
		{MustLookup(IdsLocked).Name, "IdsLocked"},
		{MustLookup(PasswordExpired).Name, "InvalidPasswordExpiredPassword"},
		{MustLookup(UnauthorizedClient).Name, "UnauthorizedClient_DoesNotMatchRequest"},
		{Describe(MissingParameter, "grant_type"), "The request body must contain the following parameter: 'grant_type'."},
		{Describe(InvalidTenantName, "contoso")[:len("Tenant 'contoso' not found.")], "Tenant 'contoso' not found."},
		{Describe(EndpointOnlyAcceptsPost, "GET"), "The endpoint only accepts POST requests. Received a GET request."},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	if got := IdsLocked.String(); got != "AADSTS50053" {
		t.Errorf("String() = %q", got)
	}
	if got := ScopeMustBeDefaultForClientCredentials.String(); got != "AADSTS1002012" {
		t.Errorf("String() = %q", got)
	}
}

func TestDescribeNeverLeaksFmtErrors(t *testing.T) {
	for _, e := range All() {
		verbs := countVerbs(e.Description)
		// Too few, exactly enough and too many arguments must all render
		// cleanly.
		for n := 0; n <= verbs+2; n++ {
			args := make([]any, n)
			for i := range args {
				args[i] = "x"
			}
			got := Describe(e.Code, args...)
			if strings.Contains(got, "%!") {
				t.Errorf("%s with %d args: %q", e.Code, n, got)
			}
		}
	}
}

func TestDescribeFillsAndTrims(t *testing.T) {
	const appID, tenant = "11111111-2222-3333-4444-555555555555", "contoso.onmicrosoft.com"
	full := Describe(UnauthorizedClient, appID, tenant)
	if !strings.HasPrefix(full, "Application with identifier '"+appID+"' was not found in the directory '"+tenant+"'.") {
		t.Errorf("full args: %q", full)
	}
	missing := Describe(UnauthorizedClient, appID)
	if !strings.Contains(missing, "in the directory ''.") {
		t.Errorf("missing arg not filled with empty string: %q", missing)
	}
	extra := Describe(UnauthorizedClient, appID, tenant, "surplus")
	if extra != full {
		t.Errorf("extra arg changed output: %q", extra)
	}
	if got := Describe(IdsLocked, "ignored"); got != MustLookup(IdsLocked).Description {
		t.Errorf("verb-less description altered: %q", got)
	}
}

func TestCountVerbs(t *testing.T) {
	for format, want := range map[string]int{
		"":               0,
		"plain":          0,
		"100%% sure":     0,
		"%s":             1,
		"'%s' and '%s'":  2,
		"%-10s|%5.2f|%v": 3,
		"trailing %":     0,
	} {
		if got := countVerbs(format); got != want {
			t.Errorf("countVerbs(%q) = %d, want %d", format, got, want)
		}
	}
}

func TestMustLookupPanicsOnUnknown(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustLookup(1) did not panic")
		}
	}()
	MustLookup(1)
}

func TestLookupUnknown(t *testing.T) {
	if _, ok := Lookup(1); ok {
		t.Error("Lookup(1) reported an entry")
	}
}

// TestEveryCodeHasRemediation: every code says what to do for each failure
// reason it can carry, the entry's own reason first.
func TestEveryCodeHasRemediation(t *testing.T) {
	for _, e := range All() {
		reasons := Reasons(e.Code)
		if len(reasons) == 0 || reasons[0].FailureReason != e.FailureReason {
			t.Errorf("%s: reasons %+v do not start with the entry's failure reason", e.Code, reasons)
			continue
		}
		for _, r := range reasons {
			if len(r.Remediation) == 0 {
				t.Errorf("%s: no remediation for %q", e.Code, r.FailureReason)
			}
		}
	}
	if got := Reasons(IdsLocked); len(got) != 2 || got[1].FailureReason != FailureReasonMaliciousIP {
		t.Errorf("50053 carries the lockout and the malicious-IP reasons, got %+v", got)
	}
}
