package aadsts

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var updateDoc = flag.Bool("update", false, "rewrite docs/error-codes.md")

const docPath = "../../docs/error-codes.md"

// TestErrorCodesDoc keeps docs/error-codes.md generated from the catalogue:
// run `go test ./internal/aadsts -run Doc -update` after changing an entry.
func TestErrorCodesDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# AADSTS error codes\n\n")
	b.WriteString("Generated from `internal/aadsts` by `go test ./internal/aadsts -run Doc -update`; do not edit by hand.\n\n")
	b.WriteString("Every error Portcullis returns carries one of these codes in `error_codes` and at the start of\n")
	b.WriteString("`error_description`. `GET /error?code=N` shows one entry (JSON with `Accept: application/json`).\n")
	b.WriteString("*Failure reason* is what the sign-in log records for administrators; *user message* is what a\n")
	b.WriteString("person at a sign-in prompt may be shown.\n\n")
	b.WriteString("| Code | Name | OAuth error | HTTP | Description | Failure reason (sign-in log) | User message |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, e := range All() {
		fmt.Fprintf(&b, "| %d | %s | `%s` | %d | %s | %s | %s |\n", e.Code, e.Name, e.OAuthError, e.HTTPStatus,
			cell(Describe(e.Code)), cell(e.FailureReason), cell(e.UserMessage))
	}
	fmt.Fprintf(&b, "\nCode 50053 is also used for sign-ins refused from a malicious IP address; the sign-in log's failure\nreason then reads: \"%s\"\n", FailureReasonMaliciousIP)
	b.WriteString("\n## What to do\n\nFor each code and failure reason, the steps in the order to try them (`portcullis errors N` prints\nthe same; `portcullis diagnose --user UPN` picks them for one user's sign-ins).\n")
	for _, e := range All() {
		fmt.Fprintf(&b, "\n### %d %s\n", e.Code, e.Name)
		for _, r := range Reasons(e.Code) {
			fmt.Fprintf(&b, "\n*%s*\n\n", r.FailureReason)
			for i, step := range r.Remediation {
				fmt.Fprintf(&b, "%d. %s\n", i+1, step)
			}
		}
	}
	got := b.String()
	if *updateDoc {
		if err := os.WriteFile(docPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(docPath)
	if err != nil || string(want) != got {
		t.Fatalf("docs/error-codes.md is out of date (%v): run go test ./internal/aadsts -run Doc -update", err)
	}
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "%s", "…").Replace(s)
}
