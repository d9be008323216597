// Package aadsts is the one catalogue of every AADSTS code Portcullis emits.
//
// Portcullis speaks Microsoft Entra ID's wire formats, and clients (MSAL,
// azure-identity, az, hand-written scripts) branch on the numeric code, the
// OAuth "error" field and sometimes on the text. Keeping every code's number,
// Entra name, OAuth error, HTTP status, wire text, sign-in log failure reason
// and user-facing message in one table means a handler can never pair a code
// with the wrong status or invent a private wording: it names a constant and
// reads everything else from here.
//
// The data lives in catalogue_*.go; this file holds the types and accessors.
// Descriptions are Microsoft's wording taken from real error bodies and the
// Entra "authentication and authorization error codes" reference; where no
// Microsoft text could be found the entry carries a comment saying the text is
// Portcullis-authored in Entra's style.
package aadsts

import (
	"fmt"
	"slices"
	"strconv"
)

// Code is an AADSTS error number, e.g. 50053 for AADSTS50053.
type Code int

// String renders the code the way Entra prefixes error_description:
// "AADSTS50053".
func (c Code) String() string {
	return "AADSTS" + strconv.Itoa(int(c))
}

// Entry is everything Portcullis needs to emit one AADSTS error.
type Entry struct {
	Code Code
	// Name is Entra's internal name for the code (e.g. "IdsLocked"); it is
	// what the sign-in log and the reference page show next to the number.
	Name string
	// OAuthError is the RFC 6749 "error" field Entra pairs with the code.
	OAuthError string
	// HTTPStatus is the status the token endpoint answers with.
	HTTPStatus int
	// Description is the text after "AADSTSnnnnn: " in error_description.
	// It may contain %s verbs, filled by Describe.
	Description string
	// FailureReason is the sign-in log status.failureReason (Graph) text.
	FailureReason string
	// UserMessage is safe to show at the prompt; it never reveals whether an
	// account exists.
	UserMessage string
}

// OAuth "error" values used in the catalogue. invalid_resource is not in
// RFC 6749 but is what Entra sends for AADSTS500011, so clients match on it.
const (
	errInvalidGrant           = "invalid_grant"
	errInvalidRequest         = "invalid_request"
	errInvalidClient          = "invalid_client"
	errUnauthorizedClient     = "unauthorized_client"
	errUnsupportedGrantType   = "unsupported_grant_type"
	errInvalidScope           = "invalid_scope"
	errInvalidResource        = "invalid_resource"
	errTemporarilyUnavailable = "temporarily_unavailable"
	errServerError            = "server_error"
	errInteractionRequired    = "interaction_required"
	// Authorization endpoint errors (OpenID Connect Core 3.1.2.6, RFC 6749
	// 4.1.2.1); they reach the client in the redirect, not a token body.
	errLoginRequired           = "login_required"
	errUnsupportedResponseType = "unsupported_response_type"
)

// byCode indexes the catalogue. It is built once at init so a duplicate code
// in the data fails the process at start-up rather than shadowing silently.
var byCode = func() map[Code]Entry {
	all := catalogue()
	m := make(map[Code]Entry, len(all))
	for _, e := range all {
		if _, dup := m[e.Code]; dup {
			panic("aadsts: duplicate catalogue entry for " + e.Code.String())
		}
		m[e.Code] = e
	}
	return m
}()

// catalogue concatenates the per-area tables so each data file stays small.
func catalogue() []Entry {
	return slices.Concat(signInEntries, protocolEntries)
}

// Lookup returns the entry for c.
func Lookup(c Code) (Entry, bool) {
	e, ok := byCode[c]
	return e, ok
}

// MustLookup returns the entry for c and panics if there is none. Codes are
// only ever named through this package's constants, so a miss is a
// programming error, not a runtime condition.
func MustLookup(c Code) Entry {
	e, ok := byCode[c]
	if !ok {
		panic("aadsts: no catalogue entry for " + c.String())
	}
	return e
}

// All returns every entry sorted by code. The slice is a fresh copy, so
// callers may modify it.
func All() []Entry {
	out := make([]Entry, 0, len(byCode))
	for _, e := range byCode {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return int(a.Code) - int(b.Code) })
	return out
}

// Describe renders c's Description with args. Error text is built on failure
// paths where a wrong argument count must not leak fmt's %!s(MISSING) or
// %!(EXTRA ...) markers onto the wire, so missing arguments become "" and
// extra ones are dropped. It panics for codes not in the catalogue, like
// MustLookup.
func Describe(c Code, args ...any) string {
	e := MustLookup(c)
	n := countVerbs(e.Description)
	fitted := make([]any, n)
	for i := range fitted {
		if i < len(args) {
			fitted[i] = args[i]
		} else {
			fitted[i] = ""
		}
	}
	// Always go through Sprintf, even with no verbs, so a "%%" escape renders
	// as "%" consistently.
	return fmt.Sprintf(e.Description, fitted...)
}

// countVerbs counts the argument-consuming verbs in a format string. It
// understands "%%" and flags/width/precision, which is all the catalogue
// uses; '*' widths and explicit [n] indexes are rejected by the tests so this
// stays simple.
func countVerbs(format string) int {
	n := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && isFlagOrWidth(format[i]) {
			i++
		}
		if i >= len(format) {
			break
		}
		if format[i] == '%' {
			continue
		}
		n++
	}
	return n
}

func isFlagOrWidth(b byte) bool {
	switch {
	case b == '+', b == '-', b == '#', b == ' ', b == '.':
		return true
	case b >= '0' && b <= '9':
		return true
	}
	return false
}
