// Package directory manages tenants, users and applications: identifiers
// normalised once so one account has one identity everywhere, passwords set
// only through the policy, and CSV import that is validated whole before
// anything is written.
package directory

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxUPNLength is Entra's limit on a userPrincipalName.
const MaxUPNLength = 113

// ErrInvalidName means an identifier is not a valid UPN, mail or domain.
var ErrInvalidName = errors.New("invalid name")

var folder = cases.Fold()

// LoginKey returns the canonical form of a sign-in name (UPN or mail): NFKC
// normalised, case-folded and trimmed. Every lookup and every counter keys on
// this, so "Alice@Contoso.test", "alice@contoso.test" and a full-width variant
// all reach the same account.
func LoginKey(name string) (string, error) {
	display, err := DisplayUPN(name)
	if err != nil {
		return "", err
	}
	return norm.NFKC.String(folder.String(display)), nil
}

// DisplayUPN returns name NFKC-normalised with its case kept, after checking
// it is a well-formed local@domain of at most MaxUPNLength characters.
func DisplayUPN(name string) (string, error) {
	s := strings.TrimSpace(norm.NFKC.String(name))
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if n := len([]rune(s)); n > MaxUPNLength {
		return "", fmt.Errorf("%w: %d characters, the maximum is %d", ErrInvalidName, n, MaxUPNLength)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") {
		return "", fmt.Errorf("%w: %q must have the form name@domain", ErrInvalidName, s)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", fmt.Errorf("%w: %q contains spaces or control characters", ErrInvalidName, s)
		}
	}
	if _, err := NormaliseDomain(domain); err != nil {
		return "", err
	}
	return s, nil
}

// NormaliseDomain returns a lower-case domain name after checking its shape.
func NormaliseDomain(domain string) (string, error) {
	d := strings.TrimSuffix(norm.NFKC.String(folder.String(strings.TrimSpace(domain))), ".")
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return "", fmt.Errorf("%w: %q is not a domain name like contoso.com", ErrInvalidName, domain)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", fmt.Errorf("%w: %q is not a valid domain name", ErrInvalidName, domain)
		}
		for _, r := range label {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return "", fmt.Errorf("%w: %q is not a valid domain name", ErrInvalidName, domain)
			}
		}
	}
	return d, nil
}

// DomainOf returns the domain part of a login key.
func DomainOf(loginKey string) string {
	_, d, _ := strings.Cut(loginKey, "@")
	return d
}
