package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/oidc"
)

func newErrorsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "errors CODE",
		Short: "Explain an AADSTS error code: what it means, what the person saw, each failure reason and what to do",
		Long: "Explain an AADSTS error code (50053 or AADSTS50053): its meaning, the message the person signing in saw,\n" +
			"the failure reasons the sign-in log can show for it, and the steps to take for each. Works without a data\n" +
			"directory; the same is served at GET /error?code=N.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			ref, ok := oidc.LookupError(args[0])
			if !ok {
				return fmt.Errorf("%q is not an AADSTS code Portcullis emits (see docs/error-codes.md)", args[0])
			}
			return render(cmd.OutOrStdout(), format, ref, func(tw io.Writer) { errorReferenceText(tw, ref) })
		},
	}
}

func errorReferenceText(w io.Writer, ref oidc.ErrorReference) {
	fmt.Fprintf(w, "AADSTS%d: %s\n\n%s\n\nThe person signing in saw:\n  %s\n", ref.Code, ref.Name, ref.Description, ref.UserMessage)
	for _, r := range ref.Reasons {
		fmt.Fprintf(w, "\nFailure reason in the sign-in log:\n  %s\nWhat to do:\n", r.FailureReason)
		for i, step := range r.Remediation {
			fmt.Fprintf(w, "  %d. %s\n", i+1, step)
		}
	}
}
