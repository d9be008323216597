package odata

import (
	"errors"
	"strings"
	"testing"
)

// signIns is the schema of Graph's signIn filters, as the API will use it.
var signIns = Schema{
	"createdDateTime": DateTime, "userPrincipalName": String, "userId": String, "userDisplayName": String,
	"appId": String, "appDisplayName": String, "ipAddress": String, "clientAppUsed": String, "correlationId": String,
	"status/errorCode": Int, "location/countryOrRegion": String, "location/city": String,
	"conditionalAccessStatus": String, "riskLevelDuringSignIn": String, "isInteractive": Bool,
}

func TestParseGraphExamples(t *testing.T) {
	cases := map[string]string{
		// Microsoft Graph's documented examples for signIns, and their kin.
		"startsWith(appDisplayName,'Graph')":                                                               "startswith(appDisplayName, 'Graph')",
		"createdDateTime ge 2019-05-23T00:00:00Z and createdDateTime le 2019-05-24T00:00:00Z":              "(createdDateTime ge 2019-05-23T00:00:00Z and createdDateTime le 2019-05-24T00:00:00Z)",
		"userPrincipalName eq 'alice@contoso.com'":                                                         "userPrincipalName eq 'alice@contoso.com'",
		"status/errorCode eq 50053":                                                                        "status/errorCode eq 50053",
		"userId eq 'd3d1e0b4-0000-4000-8000-000000000000' and status/errorCode ne 0":                       "(userId eq 'd3d1e0b4-0000-4000-8000-000000000000' and status/errorCode ne 0)",
		"location/city eq 'Redmond' or location/countryOrRegion eq 'NZ'":                                   "(location/city eq 'Redmond' or location/countryOrRegion eq 'NZ')",
		"riskLevelDuringSignIn eq 'high' and isInteractive eq true":                                        "(riskLevelDuringSignIn eq 'high' and isInteractive eq true)",
		"not (status/errorCode eq 0)":                                                                      "not (status/errorCode eq 0)",
		"not(clientAppUsed eq 'Browser')":                                                                  "not (clientAppUsed eq 'Browser')",
		"(status/errorCode eq 50053 or status/errorCode eq 50126) and startswith(ipAddress, '203.0.113.')": "((status/errorCode eq 50053 or status/errorCode eq 50126) and startswith(ipAddress, '203.0.113.'))",
		"a eq 1 or b eq 2 and c eq 3":                                                                      "",
		"USERPRINCIPALNAME EQ 'O''Brien@contoso.com'":                                                      "userPrincipalName eq 'O''Brien@contoso.com'",
		"createdDateTime ge 2026-11-24":                                                                    "createdDateTime ge 2026-11-24T00:00:00Z",
		"createdDateTime le '2026-11-24T10:00:00.5+01:00'":                                                 "createdDateTime le 2026-11-24T09:00:00.5Z",
		"status/errorCode eq -1":                                                                           "status/errorCode eq -1",
		"conditionalAccessStatus eq 'notApplied' and correlationId eq 'abc'":                               "(conditionalAccessStatus eq 'notApplied' and correlationId eq 'abc')",
	}
	for in, want := range cases {
		if want == "" { // precedence: and binds tighter than or
			schema := Schema{"a": Int, "b": Int, "c": Int}
			e, err := Parse(in, schema)
			if err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			if got := Format(e); got != "(a eq 1 or (b eq 2 and c eq 3))" {
				t.Errorf("%q parsed as %s", in, got)
			}
			continue
		}
		e, err := Parse(in, signIns)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := Format(e); got != want {
			t.Errorf("%q\n got %s\nwant %s", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in, msg string
		pos     int
	}{
		{"", "empty", 0},
		{"shoeSize eq 9", "'shoeSize' is not a property", 1},
		{"status/errorCode eq 'x'", "is an integer, not the string 'x'", 21},
		{"status/errorCode gt 0", "operator 'gt' is not supported", 18},
		{"userPrincipalName eq alice", "is a string, not 'alice'", 22},
		{"isInteractive ge true", "is a boolean", 15},
		{"userPrincipalName eq 'x", "unterminated string", 22},
		{"(status/errorCode eq 1", "ends where ')' was expected", 23},
		{"status/errorCode eq 1)", "unexpected ')'", 22},
		{"status/errorCode eq 1 and", "ends where", 26},
		{"startswith(status/errorCode, '5')", "needs a string property", 1},
		{"startswith(ipAddress 'x')", "unexpected ''x''", 22},
		{"createdDateTime ge yesterday", "is not a date-time", 20},
		{"userPrincipalName eq 'a' ; drop table", "unexpected character ';'", 26},
		{"ipAddress eq '1' xor ipAddress eq '2'", "unexpected 'xor'", 18},
		{"status/errorCode eq", "needs an integer to compare with", 20},
	}
	for _, c := range cases {
		_, err := Parse(c.in, signIns)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("%q: error %v, want a filter error", c.in, err)
			continue
		}
		if !strings.Contains(fe.Msg, c.msg) || fe.Pos != c.pos {
			t.Errorf("%q: %q at %d, want %q at %d", c.in, fe.Msg, fe.Pos, c.msg, c.pos)
		}
		if !strings.HasPrefix(err.Error(), "Invalid filter clause: ") {
			t.Errorf("%q: message %q", c.in, err)
		}
	}
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth+2) + "isInteractive eq true" + strings.Repeat(")", MaxDepth+2)
	if _, err := Parse(deep, signIns); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("deep nesting: %v", err)
	}
	many := strings.Repeat("isInteractive eq true or ", MaxTerms) + "isInteractive eq false"
	if _, err := Parse(many, signIns); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("too many terms: %v", err)
	}
	if _, err := Parse(strings.Repeat(" ", MaxLength+1), signIns); err == nil {
		t.Error("over-long filter accepted")
	}
}

// FuzzParse: no input panics, and anything accepted renders to a filter
// that parses to the same thing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"status/errorCode eq 50053", "startswith(ipAddress,'10.')", "not (a eq 'x''y') or (b ne 1)",
		"createdDateTime ge 2026-01-01T00:00:00Z and isInteractive eq false", "((", "'", "eq eq eq"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := Parse(in, signIns)
		if err != nil {
			return
		}
		again, err := Parse(Format(e), signIns)
		if err != nil {
			t.Fatalf("%q rendered as %q, which does not parse: %v", in, Format(e), err)
		}
		if Format(again) != Format(e) {
			t.Fatalf("%q: %q then %q", in, Format(e), Format(again))
		}
	})
}
