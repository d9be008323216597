// Package cli is the portcullis command line: thin cobra wiring around plain
// run functions (runX(ctx, w, ...) error) that tests call directly. Offline
// commands work on the data directory; a running server sees their changes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// ErrUsage marks errors in how a command was called (exit code 2).
var ErrUsage = errors.New("usage")

// NewRoot builds the portcullis command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "portcullis",
		Short:         "Portcullis: a self-hosted identity provider with Entra ID's sign-in protection",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.String("config", "", "YAML configuration file")
	config.RegisterFlags(pf)
	pf.String("data", "", "data directory (same as --data-dir)")
	_ = pf.SetAnnotation("data", config.FlagKeyAnnotation, []string{"data_dir"})
	pf.StringP("output", "o", "table", "output format: table or json")
	root.AddCommand(newServeCmd(), newInitCmd(), newUsersCmd(), newAppsCmd(), newKeysCmd(), newConfigCmd(), newLockoutCmd(), newIPsCmd(), newFeedsCmd(), newLocationsCmd(), newRolesCmd(), newRecoverCmd(), newLoginCmd(), newLogoutCmd(), newAuditCmd(), newSignInsCmd(), newErrorsCmd(), newDiagnoseCmd())
	return root
}

// Execute runs the CLI and returns the process exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "portcullis:", err)
	var ve *config.ValidationError
	switch {
	case errors.Is(err, ErrUsage), isCobraUsage(err):
		return 2
	case errors.As(err, &ve):
		return 3
	}
	return 1
}

func isCobraUsage(err error) bool {
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"required flag", "accepts ", "requires at least", "invalid argument", "if any flags in the group"} {
		if strings.Contains(err.Error(), p) {
			return true
		}
	}
	return false
}

// loadConfig applies defaults, --config, PORTCULLIS_* and flags.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	file, _ := cmd.Flags().GetString("config")
	return config.Load(config.LoadOptions{File: file, Env: os.Environ(), Flags: cmd.Flags()})
}

// openData loads config and opens the data directory's store.
func openData(cmd *cobra.Command) (config.Config, *sqlstore.DB, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return cfg, nil, err
	}
	db, err := app.OpenConfiguredStore(cmd.Context(), cfg)
	return cfg, db, err
}

// csvOutput is the annotation of commands that also write CSV.
const csvOutput = "portcullis/csv-output"

func outputFormat(cmd *cobra.Command) (string, error) {
	f, _ := cmd.Flags().GetString("output")
	if f == "csv" && cmd.Annotations[csvOutput] == "true" {
		return f, nil
	}
	if f != "table" && f != "json" {
		return "", fmt.Errorf("%w: --output must be table or json, not %q", ErrUsage, f)
	}
	return f, nil
}
