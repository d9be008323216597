package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
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

func appTable(tw io.Writer, apps []store.App) {
	fmt.Fprintln(tw, "NAME\tCLIENT ID\tTYPE\tGRANTS")
	for _, a := range apps {
		kind := "confidential"
		if a.Public {
			kind = "public"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.DisplayName, a.ClientID, kind, strings.Join(a.AllowedGrants, ","))
	}
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
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				a, secret, err := s.dir.AddApp(ctx, s.tenant, na)
				if err != nil {
					return err
				}
				if err := auditOffline(ctx, s, adminapi.OfflineChange{Category: "ApplicationManagement", Activity: "Add application",
					Operation: "Add", TargetID: a.ClientID, TargetName: a.DisplayName, TargetType: "Application"}); err != nil {
					return err
				}
				type out struct {
					graphApp
					ClientSecret string `json:"clientSecret,omitempty"`
				}
				return render(w, s.format, out{toGraphApp(a), secret}, func(tw io.Writer) {
					appTable(tw, []store.App{a})
					if secret != "" {
						fmt.Fprintf(tw, "\nClient secret: %s (shown only this once)\n", secret)
					}
				})
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
	cmd := &cobra.Command{Use: "keys", Short: "Manage token-signing keys (offline)"}
	list := &cobra.Command{
		Use: "list", Short: "List signing keys", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
		Short: "Make a new key active; the old one stays published until tokens it signed have expired",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			cfg, db, err := openData(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			overlap := max(cfg.Tokens.AccessTokenLifetime, cfg.Tokens.IDTokenLifetime) + 5*time.Minute
			keys, err := oidc.RotateKeys(cmd.Context(), db, time.Now(), overlap)
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
		},
	}
	cmd.AddCommand(list, rotate)
	return cmd
}

func runKeysList(ctx context.Context, w io.Writer, db store.Keys, format string) error {
	keys, err := db.ListKeys(ctx)
	if err != nil {
		return err
	}
	type keyOut struct {
		KeyID        string `json:"kid"`
		Algorithm    string `json:"alg"`
		Status       string `json:"status"`
		Created      string `json:"createdDateTime"`
		PublishUntil string `json:"publishedUntil,omitempty"`
	}
	now := time.Now()
	var out []keyOut
	for _, k := range keys {
		status := "active"
		if !k.RetiredAt.IsZero() {
			status = "retired, published"
			if now.After(k.PublishUntil) {
				status = "retired, unpublished"
			}
		}
		out = append(out, keyOut{k.ID, k.Algorithm, status, graphTime(k.CreatedAt), graphTime(k.PublishUntil)})
	}
	return render(w, format, map[string]any{"value": out}, func(tw io.Writer) {
		fmt.Fprintln(tw, "KID\tALG\tSTATUS\tCREATED\tPUBLISHED UNTIL")
		for _, k := range out {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.KeyID, k.Algorithm, k.Status, k.Created, k.PublishUntil)
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
