package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/store"
)

func newAppsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "Manage application registrations (offline, or through the API when logged in)"}
	cmd.AddCommand(newAppsAddCmd(), newAppsListCmd(), newAppsRemoveCmd(), newAppsSecretCmd())
	return cmd
}

type graphApp struct {
	AppID                  string   `json:"appId"`
	DisplayName            string   `json:"displayName"`
	IsFallbackPublicClient bool     `json:"isFallbackPublicClient"`
	RedirectURIs           []string `json:"redirectUris"`
	AllowedGrants          []string `json:"allowedGrantTypes"`
	SecretHints            []string `json:"secretHints,omitempty"`
	CreatedDateTime        string   `json:"createdDateTime"`
}

func toGraphApp(a store.App) graphApp {
	g := graphApp{AppID: a.ClientID, DisplayName: a.DisplayName, IsFallbackPublicClient: a.Public,
		RedirectURIs: append([]string{}, a.RedirectURIs...), AllowedGrants: a.AllowedGrants, CreatedDateTime: graphTime(a.CreatedAt)}
	for _, s := range a.Secrets {
		g.SecretHints = append(g.SecretHints, s.Hint+"... (keyId "+s.ID+", expires "+graphTime(s.ExpiresAt)+")")
	}
	return g
}

// renderCreatedApp shows a new app and, once, its client secret.
func renderCreatedApp(w io.Writer, format string, g graphApp, secret string) error {
	type out struct {
		graphApp
		ClientSecret string `json:"clientSecret,omitempty"`
	}
	return render(w, format, out{g, secret}, func(tw io.Writer) {
		graphAppTable(tw, []graphApp{g})
		if secret != "" {
			fmt.Fprintf(tw, "\nClient secret: %s (shown only this once)\n", secret)
		}
	})
}

func newAppsAddCmd() *cobra.Command {
	var na directory.NewApp
	var public, confidential bool
	cmd := &cobra.Command{
		Use:   "add --name NAME (--public|--confidential) [--client-id GUID] [--redirect-uri URI]... [--allow-password-grant]",
		Short: "Register an application; a confidential app's secret is shown once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if public == confidential {
				return fmt.Errorf("%w: give exactly one of --public and --confidential", ErrUsage)
			}
			na.Public = public
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				if err == nil && (cmd.Flags().Changed("client-id") || cmd.Flags().Changed("secret-lifetime")) {
					return fmt.Errorf("%w: --client-id and --secret-lifetime work offline only (--data DIR); online, "+
						"the server generates the client ID, and `apps secret add --lifetime` adds a secret of another lifetime", ErrUsage)
				}
				return cmpOr(err, func() error { return remoteAppsAdd(cmd.Context(), cmd.OutOrStdout(), c, na) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				a, secret, err := s.dir.AddApp(ctx, s.tenant, na)
				if err != nil {
					return err
				}
				if err := auditOffline(ctx, s, adminapi.OfflineChange{Category: "ApplicationManagement", Activity: "Add application",
					Operation: "Add", TargetID: a.ClientID, TargetName: a.DisplayName, TargetType: "Application"}); err != nil {
					return err
				}
				return renderCreatedApp(w, s.format, toGraphApp(a), secret)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&na.Name, "name", "", "display name")
	f.BoolVar(&public, "public", false, "public client (native, SPA, CLI): no secret")
	f.BoolVar(&confidential, "confidential", false, "confidential client (server-side): gets a client secret")
	f.StringVar(&na.ClientID, "client-id", "", "fixed client ID (GUID); default: generated")
	f.StringArrayVar(&na.RedirectURIs, "redirect-uri", nil, "redirect URI (repeatable)")
	f.BoolVar(&na.AllowPasswordGrant, "allow-password-grant", false, "allow the resource owner password grant (ROPC)")
	f.DurationVar(&na.SecretLifetime, "secret-lifetime", 180*24*time.Hour, "lifetime of the generated client secret")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newAppsListCmd() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List applications", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteAppsList(cmd.Context(), cmd.OutOrStdout(), c) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				apps, err := s.db.ListApps(ctx, s.tenant.ID)
				if err != nil {
					return err
				}
				graph := make([]graphApp, len(apps))
				for i, a := range apps {
					graph[i] = toGraphApp(a)
				}
				return render(w, s.format, map[string]any{"value": graph}, func(tw io.Writer) { graphAppTable(tw, graph) })
			})
		},
	}
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Token-signing keys (offline, or through the API when logged in)"}
	list := &cobra.Command{
		Use: "list", Short: "List signing keys", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteKeysList(cmd.Context(), cmd.OutOrStdout(), c) })
			}
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			_, db, err := openData(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			return runKeysList(cmd.Context(), cmd.OutOrStdout(), db, format)
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make new keys active (RS256 and ES256); the old ones stay published until tokens they signed have expired",
		Long: "Make new keys active (RS256 and ES256); the old ones stay published until tokens they signed have expired.\n" +
			"Online this needs Global Administrator; the server signs with the new keys at once.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteKeysRotate(cmd.Context(), cmd.OutOrStdout(), c) })
			}
			return runKeysRotateOffline(cmd)
		},
	}
	cmd.AddCommand(list, rotate)
	return cmd
}

func runKeysRotateOffline(cmd *cobra.Command) error {
	format, err := outputFormat(cmd)
	if err != nil {
		return err
	}
	cfg, db, err := openData(cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := oidc.RotateKeys(cmd.Context(), db, time.Now(), app.KeyOverlap(cfg))
	if err != nil {
		return err
	}
	// Signing keys are global; the audit records go to the tenant.
	if t, err := app.SingleTenant(cmd.Context(), db); err == nil {
		for _, key := range keys {
			if err := adminapi.RecordOffline(cmd.Context(), db, osUserName(), adminapi.OfflineChange{TenantID: t.ID,
				Category: "KeyManagement", Activity: "Rotate signing key", Operation: "Add", TargetID: key.ID,
				TargetName: key.Algorithm + " token signing key", TargetType: "SigningKey"}); err != nil {
				return fmt.Errorf("the keys were rotated but an audit record failed: %w", err)
			}
		}
	}
	return runKeysList(cmd.Context(), cmd.OutOrStdout(), db, format)
}

func runKeysList(ctx context.Context, w io.Writer, db store.Keys, format string) error {
	keys, err := db.ListKeys(ctx)
	if err != nil {
		return err
	}
	out := make([]adminapi.SigningKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, adminapi.SigningKeyView(k, time.Now()))
	}
	return keysOut(w, format, out)
}

func keysOut(w io.Writer, format string, keys []adminapi.SigningKey) error {
	return render(w, format, map[string]any{"value": keys}, func(tw io.Writer) {
		fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED\tPUBLISHED UNTIL")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.KeyID, k.Algorithm, k.Status, k.CreatedAt, k.PublishedUntil)
		}
	})
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check and show configuration"}
	validate := &cobra.Command{
		Use: "validate", Short: "Load the configuration (file, PORTCULLIS_* env, flags) and report every problem", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := loadConfig(cmd); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
			return nil
		},
	}
	defaults := &cobra.Command{
		Use: "defaults", Short: "Print the default configuration as YAML", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return writeDefaults(cmd.OutOrStdout()) },
	}
	cmd.AddCommand(validate, defaults)
	return cmd
}
