package cli

import (
	"strings"
	"testing"

	"github.com/portcullis-idp/portcullis/internal/oidc"
)

// TestErrorsCommand explains a code in text and JSON without a data
// directory, and refuses codes Portcullis does not emit.
func TestErrorsCommand(t *testing.T) {
	out, _, err := runRoot(t, nil, "errors", "AADSTS50053")
	if err != nil || !strings.Contains(out, "IdsLocked") || !strings.Contains(out, "portcullis users unlock UPN") ||
		!strings.Contains(out, "malicious activity") {
		t.Fatalf("errors 50053: %v\n%s", err, out)
	}
	var ref oidc.ErrorReference
	runJSON(t, &ref, "errors", "50126", "-o", "json")
	if ref.Code != 50126 || len(ref.Reasons) != 1 || len(ref.Reasons[0].Remediation) == 0 {
		t.Fatalf("errors 50126 -o json: %+v", ref)
	}
	mustFail(t, 1, []string{"not an AADSTS code Portcullis emits"}, "errors", "12345")
}
