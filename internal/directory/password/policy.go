package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// DefaultMinLength is the minimum length in characters (runes).
	DefaultMinLength = 8
	// DefaultMaxBytes bounds the UTF-8 length of a password. Entra allows
	// 256 characters; we count bytes because that is what the hash and the
	// policy checks actually process.
	DefaultMaxBytes = 256
	// HardMaxBytes is the ceiling for a configured MaxBytes, so that a
	// misconfigured tenant cannot make the policy checks handle megabytes.
	HardMaxBytes = 1024

	// minNameLen is the shortest user-name fragment that is forbidden in a
	// password; shorter fragments (initials, "Li") would reject too many
	// unrelated passwords. This mirrors Active Directory's complexity rule.
	minNameLen = 3
	// minBannedTermLen mirrors Entra, which only accepts custom banned
	// terms of 4 or more characters; shorter terms are ignored.
	minBannedTermLen = 4
)

// Rule identifiers reported in Violation.Rule.
const (
	RuleMaxLength    = "max_length"
	RuleInvalidUTF8  = "invalid_utf8"
	RuleControlChars = "control_chars"
	RuleMinLength    = "min_length"
	RuleCommon       = "common"
	RuleContainsName = "contains_name"
	RuleBannedTerm   = "banned_term"
)

// Policy is a tenant's password policy. Zero-valued numeric fields take
// the defaults, so Policy{} behaves like DefaultPolicy().
type Policy struct {
	MinLength   int      // characters (runes); <= 0 means DefaultMinLength
	MaxBytes    int      // UTF-8 bytes; <= 0 means DefaultMaxBytes, capped at HardMaxBytes
	BannedTerms []string // tenant custom banned terms; terms under 4 characters are ignored
}

// DefaultPolicy returns the policy used when a tenant configures nothing.
func DefaultPolicy() Policy {
	return Policy{MinLength: DefaultMinLength, MaxBytes: DefaultMaxBytes}
}

// Subject identifies whose password is being checked, so that passwords
// containing the user's own name can be refused.
type Subject struct {
	UPN         string
	DisplayName string
	Mail        string
}

// Violation is the error returned by Policy.Check. Message is written for
// the person choosing the password and never includes the password itself,
// nor the matched name or banned term (which would help an attacker probe
// the tenant's ban list).
type Violation struct {
	Rule    string
	Message string
}

func (v *Violation) Error() string { return v.Message }

// Check returns nil if plain is acceptable for s, or a *Violation for the
// first failing rule. Rules run in this fixed order:
//
//  1. max_length    – more than MaxBytes UTF-8 bytes (checked first so no
//     other rule ever processes oversized input)
//  2. invalid_utf8  – not valid UTF-8
//  3. control_chars – contains a Unicode control character (Cc), e.g. tab,
//     newline, NUL or DEL, which users cannot reliably type again
//  4. min_length    – fewer than MinLength characters (runes)
//  5. common        – on the common-password list, compared lower-cased
//     and again after NormaliseForBanList ("P@ssw0rd" -> "password")
//  6. contains_name – contains the UPN or mail local part, or a display
//     name word, of at least 3 characters (compared after normalisation)
//  7. banned_term   – contains a tenant banned term of at least 4
//     characters (both sides normalised)
func (p Policy) Check(plain string, s Subject) error {
	if v := p.checkShape(plain); v != nil {
		return v
	}
	norm := NormaliseForBanList(plain)
	if IsCommon(plain) || IsCommon(norm) {
		return &Violation{Rule: RuleCommon,
			Message: "Password is too common. Choose a password that is harder to guess."}
	}
	if containsAny(norm, nameFragments(s), minNameLen) {
		return &Violation{Rule: RuleContainsName,
			Message: "Password must not contain your name or user name."}
	}
	if containsAny(norm, p.BannedTerms, minBannedTermLen) {
		return &Violation{Rule: RuleBannedTerm,
			Message: "Password contains a word or name that your organisation does not allow."}
	}
	return nil
}

// checkShape applies the encoding and length rules (1-4).
func (p Policy) checkShape(plain string) *Violation {
	maxBytes := p.maxBytes()
	if len(plain) > maxBytes {
		return &Violation{Rule: RuleMaxLength, Message: fmt.Sprintf(
			"Password must be no longer than %d bytes (most letters take 1 byte; accented and non-Latin characters take 2 to 4).",
			maxBytes)}
	}
	if !utf8.ValidString(plain) {
		return &Violation{Rule: RuleInvalidUTF8,
			Message: "Password contains characters that could not be read. Please type it again."}
	}
	if strings.ContainsFunc(plain, unicode.IsControl) {
		return &Violation{Rule: RuleControlChars,
			Message: "Password must not contain control characters such as tabs or line breaks."}
	}
	if minLen := p.minLength(); utf8.RuneCountInString(plain) < minLen {
		return &Violation{Rule: RuleMinLength,
			Message: fmt.Sprintf("Password must be at least %d characters long.", minLen)}
	}
	return nil
}

func (p Policy) minLength() int {
	if p.MinLength <= 0 {
		return DefaultMinLength
	}
	return p.MinLength
}

func (p Policy) maxBytes() int {
	switch {
	case p.MaxBytes <= 0:
		return DefaultMaxBytes
	case p.MaxBytes > HardMaxBytes:
		return HardMaxBytes
	}
	return p.MaxBytes
}

// nameFragments lists the parts of the subject's identity a password must
// not contain: the whole local parts of the UPN and mail address, and each
// word of the display name. Words are split on anything that is not a
// letter or digit, as Active Directory does for its complexity rule.
func nameFragments(s Subject) []string {
	frags := make([]string, 0, 4)
	for _, addr := range []string{s.UPN, s.Mail} {
		local, _, _ := strings.Cut(addr, "@")
		frags = append(frags, local)
	}
	words := strings.FieldsFunc(s.DisplayName, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	return append(frags, words...)
}

// containsAny reports whether norm (already normalised) contains any of
// terms after normalisation, ignoring terms shorter than minLen runes.
// Normalising both sides means "C0nt0so" in a password matches the term
// "contoso", and a term that itself contains a digit still matches.
func containsAny(norm string, terms []string, minLen int) bool {
	for _, t := range terms {
		t = NormaliseForBanList(strings.TrimSpace(t))
		if utf8.RuneCountInString(t) >= minLen && strings.Contains(norm, t) {
			return true
		}
	}
	return false
}
