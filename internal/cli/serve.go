package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve [--tls-cert FILE --tls-key FILE | --tls-self-signed]",
		Short: "Run the identity provider (initialises the data directory on first run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return app.Serve(cmd.Context(), cfg, cmd.OutOrStdout(), app.NewLogger(cfg, cmd.ErrOrStderr()))
		},
	}
	f := cmd.Flags()
	f.String("tls-cert", "", "serve HTTPS with this PEM certificate chain (tls.cert_file)")
	f.String("tls-key", "", "the certificate's PEM private key (tls.key_file)")
	f.Bool("tls-self-signed", false, "serve HTTPS with a generated certificate for localhost, for development (tls.self_signed)")
	for name, key := range map[string]string{"tls-cert": "tls.cert_file", "tls-key": "tls.key_file", "tls-self-signed": "tls.self_signed"} {
		_ = f.SetAnnotation(name, config.FlagKeyAnnotation, []string{key})
	}
	return cmd
}

func newInitCmd() *cobra.Command {
	var domain, adminUPN, passwordFile string
	cmd := &cobra.Command{
		Use:   "init --data DIR --domain DOMAIN [--admin-upn UPN] [--admin-password-file FILE]",
		Short: "Create a new directory: tenant, administrator, CLI app and signing key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			pw := ""
			if passwordFile != "" {
				if pw, err = readSecretFile(cmd.InOrStdin(), passwordFile); err != nil {
					return err
				}
			}
			return runInit(cmd.Context(), cmd.OutOrStdout(), cfg, format, app.InitOptions{Domain: domain, AdminUPN: adminUPN, AdminPassword: pw})
		},
	}
	cmd.Flags().StringVar(&domain, "domain", "", "the tenant's verified domain, e.g. contoso.com")
	cmd.Flags().StringVar(&adminUPN, "admin-upn", "", "the administrator's UPN (default admin@DOMAIN)")
	cmd.Flags().StringVar(&passwordFile, "admin-password-file", "", "file holding the administrator's password (- for stdin); default: generate one")
	_ = cmd.MarkFlagRequired("domain")
	return cmd
}

func runInit(ctx context.Context, w io.Writer, cfg config.Config, format string, opts app.InitOptions) error {
	db, err := app.OpenConfiguredStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := app.Initialise(ctx, db, cfg, opts)
	if err != nil {
		return err
	}
	out := map[string]any{"tenantId": res.Tenant.ID, "domain": res.Tenant.Domains[0],
		"admin": res.Admin.UserPrincipalName, "cliClientId": res.CLIApp.ClientID, "signingKeyId": res.KeyID,
		"dataDir": cfg.DataDir}
	if res.AdminPassword != "" {
		out["adminPassword"] = res.AdminPassword
	}
	return render(w, format, out, func(tw io.Writer) {
		fmt.Fprintf(tw, "Data directory:\t%s\n", cfg.DataDir)
		fmt.Fprintf(tw, "Tenant:\t%s (id %s)\n", res.Tenant.Domains[0], res.Tenant.ID)
		fmt.Fprintf(tw, "Administrator:\t%s\n", res.Admin.UserPrincipalName)
		if res.AdminPassword != "" {
			fmt.Fprintf(tw, "Password:\t%s (shown only this once)\n", res.AdminPassword)
		}
		fmt.Fprintf(tw, "CLI client ID:\t%s\n", res.CLIApp.ClientID)
		fmt.Fprintf(tw, "Signing key:\t%s\n", res.KeyID)
	})
}

// readSecretFile reads a password from a file ("-" = stdin), dropping one
// trailing newline so `echo pw > file` works.
func readSecretFile(stdin io.Reader, path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 64<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("%w: the password file %s is empty", ErrUsage, path)
	}
	return s, nil
}
