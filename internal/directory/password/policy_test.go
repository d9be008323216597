package password

import (
	"errors"
	"strings"
	"testing"
)

var testSubject = Subject{
	UPN:         "mjackson@fabrikam.example",
	DisplayName: "Maria Jackson-Ortiz",
	Mail:        "maria.j@fabrikam.example",
}

func TestCommonListLoaded(t *testing.T) {
	// Guards against the dependency renaming or shrinking its list.
	if n := len(commonPasswords()); n < 25000 {
		t.Fatalf("common password set has %d entries, want about 30000", n)
	}
}

func TestIsCommon(t *testing.T) {
	cases := map[string]bool{
		"password":                     true,
		"PassWord":                     true,
		"iloveyou":                     true,
		"p@ssw0rd":                     true, // on the list verbatim
		"":                             false,
		"correct horse battery staple": false,
		strings.Repeat("a", 300):       false,
	}
	for in, want := range cases {
		if got := IsCommon(in); got != want {
			t.Errorf("IsCommon(%.20q) = %v, want %v", in, got, want)
		}
	}
}

func TestNormaliseForBanList(t *testing.T) {
	cases := map[string]string{
		"P@$$W0rd1": "passwordl",
		"C0nt0so":   "contoso",
		"3E4A5S":    "3e4a5s", // only 0, 1, $ and @ are mapped
		"ÄBC":       "äbc",
	}
	for in, want := range cases {
		if got := NormaliseForBanList(in); got != want {
			t.Errorf("NormaliseForBanList(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNormalisedCommonExamples checks the premises of the policy table
// against the real list instead of assuming them.
func TestNormalisedCommonExamples(t *testing.T) {
	for _, pw := range []string{"P@$$word", "Footb@ll"} {
		if IsCommon(pw) {
			t.Errorf("%q is on the list verbatim; pick an example that needs normalisation", pw)
		}
		if !IsCommon(NormaliseForBanList(pw)) {
			t.Errorf("%q normalises to %q, which is not on the list", pw, NormaliseForBanList(pw))
		}
	}
	// "P@ssw0rd1" normalises to "passwordl" (1 -> l), which is not listed,
	// so it is not rejected as common; the table relies on that.
	if IsCommon("P@ssw0rd1") || IsCommon(NormaliseForBanList("P@ssw0rd1")) {
		t.Error("P@ssw0rd1 unexpectedly common; update the policy table")
	}
}

func TestPolicyCheck(t *testing.T) {
	pol := DefaultPolicy()
	pol.BannedTerms = []string{"contoso", " Fabrikam ", "abc", ""}

	cases := []struct {
		name, pw string
		subj     Subject
		rule     string // "" means accepted
	}{
		{"strong passphrase", "correct horse battery staple", testSubject, ""},
		{"strong mixed", "Tangerine-Voyage-Orbit-42", testSubject, ""},
		{"unicode passphrase", "Ünïcödé-Pässwörd-42", testSubject, ""},
		{"exactly 256 bytes", strings.Repeat("Zq9!", 64), testSubject, ""},
		{"near-common is not fuzzy matched", "P@ssw0rd1", testSubject, ""},
		{"banned term under 4 chars ignored", "abc-tangerine-voyage", testSubject, ""},
		{"display word under 3 chars ignored", "wuli-garden-lamp", Subject{DisplayName: "Li Wu"}, ""},
		{"empty subject", "tangerine-voyage", Subject{}, ""},

		{"257 bytes", strings.Repeat("x", 257), testSubject, RuleMaxLength},
		{"multibyte over byte limit", strings.Repeat("é", 129), testSubject, RuleMaxLength},
		{"invalid utf8", "abc\xffdefghij", testSubject, RuleInvalidUTF8},
		{"tab", "correct\thorse battery", testSubject, RuleControlChars},
		{"NUL", "correct\x00horse battery", testSubject, RuleControlChars},
		{"control before common", "password\n", testSubject, RuleControlChars},
		{"too short", "Sh0rt!", testSubject, RuleMinLength},
		{"too short in runes", "éééééé", testSubject, RuleMinLength},
		{"empty", "", testSubject, RuleMinLength},
		{"common", "password", testSubject, RuleCommon},
		{"common upper-case", "PASSWORD", testSubject, RuleCommon},
		{"common verbatim leet", "P@ssw0rd", testSubject, RuleCommon},
		{"common after normalisation", "P@$$word", testSubject, RuleCommon},
		{"common after normalisation 2", "Footb@ll", testSubject, RuleCommon},
		{"UPN local part", "Xmjackson!2026#blue", testSubject, RuleContainsName},
		{"UPN local part normalised", "MJacks0n-rules-42", testSubject, RuleContainsName},
		{"mail local part", "hello-maria.j-2026", testSubject, RuleContainsName},
		{"display-name word", "Blue-ORTIZ-Gate-77", testSubject, RuleContainsName},
		{"banned term normalised", "C0nt0so!Winter2026", testSubject, RuleBannedTerm},
		{"banned term trimmed", "ILoveFabrikam2026", testSubject, RuleBannedTerm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := pol.Check(tc.pw, tc.subj)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var v *Violation
			if !errors.As(err, &v) {
				t.Fatalf("Check = %v, want *Violation %s", err, tc.rule)
			}
			if v.Rule != tc.rule {
				t.Errorf("Rule = %s (%s), want %s", v.Rule, v.Message, tc.rule)
			}
			if v.Message == "" || v.Error() != v.Message {
				t.Errorf("bad message %q / Error() %q", v.Message, v.Error())
			}
			// "password" itself legitimately appears in every message.
			if len(tc.pw) >= 3 && tc.pw != "password" && strings.Contains(v.Message, tc.pw) {
				t.Errorf("message %q echoes the password", v.Message)
			}
		})
	}
}

func TestPolicyMessages(t *testing.T) {
	err := DefaultPolicy().Check("Sh0rt!", Subject{})
	if err == nil || err.Error() != "Password must be at least 8 characters long." {
		t.Errorf("min_length message = %v", err)
	}
	err = Policy{MinLength: 12}.Check("tangerine-v", Subject{})
	if err == nil || err.Error() != "Password must be at least 12 characters long." {
		t.Errorf("custom min_length message = %v", err)
	}
}

func TestPolicyZeroValueUsesDefaults(t *testing.T) {
	for _, pw := range []string{"Sh0rt!", strings.Repeat("x", 257), "tangerine-voyage"} {
		a, b := Policy{}.Check(pw, Subject{}), DefaultPolicy().Check(pw, Subject{})
		if (a == nil) != (b == nil) || (a != nil && a.Error() != b.Error()) {
			t.Errorf("%.10q: zero policy %v, default policy %v", pw, a, b)
		}
	}
}

func TestPolicyMaxBytesClamped(t *testing.T) {
	pol := Policy{MaxBytes: 1 << 20}
	pw := strings.Repeat("Zq9!", HardMaxBytes/4) // exactly HardMaxBytes
	if err := pol.Check(pw, Subject{}); err != nil {
		t.Errorf("HardMaxBytes password rejected: %v", err)
	}
	var v *Violation
	if err := pol.Check(pw+"x", Subject{}); !errors.As(err, &v) || v.Rule != RuleMaxLength {
		t.Errorf("password over HardMaxBytes: %v, want max_length", err)
	}
}
