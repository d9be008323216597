package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
)

// apiApp is the part of Graph's application the CLI shows.
type apiApp struct {
	AppID               string `json:"appId"`
	DisplayName         string `json:"displayName"`
	IsFallbackPublic    bool   `json:"isFallbackPublicClient"`
	PublicClient        struct{ RedirectURIs []string }
	Web                 struct{ RedirectURIs []string }
	PasswordCredentials []struct{ KeyID, Hint, EndDateTime string }
	AllowedGrants       []string `json:"portcullisAllowedGrantTypes"`
	CreatedDateTime     string   `json:"createdDateTime"`
}

func (a apiApp) graph() graphApp {
	g := graphApp{AppID: a.AppID, DisplayName: a.DisplayName, IsFallbackPublicClient: a.IsFallbackPublic,
		RedirectURIs:  append(append([]string{}, a.PublicClient.RedirectURIs...), a.Web.RedirectURIs...),
		AllowedGrants: a.AllowedGrants, CreatedDateTime: a.CreatedDateTime}
	for _, s := range a.PasswordCredentials {
		g.SecretHints = append(g.SecretHints, s.Hint+"... (keyId "+s.KeyID+", expires "+s.EndDateTime+")")
	}
	return g
}

func graphAppTable(tw io.Writer, apps []graphApp) {
	fmt.Fprintln(tw, "NAME\tCLIENT ID\tTYPE\tGRANTS\tSECRETS")
	for _, a := range apps {
		kind := map[bool]string{true: "public", false: "confidential"}[a.IsFallbackPublicClient]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", a.DisplayName, a.AppID, kind, strings.Join(a.AllowedGrants, ","), len(a.SecretHints))
	}
}

func newAppsRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove CLIENT-ID",
		Short: "Delete an app registration with its secrets, role assignments and refresh tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error {
					if err := c.call(cmd.Context(), "DELETE", "/v1.0/applications/"+url.PathEscape(args[0]), nil, nil); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Deleted app %s on %s.\n", args[0], c.Server)
					return nil
				})
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				a, err := s.dir.DeleteApp(ctx, s.tenant.ID, args[0])
				if err != nil {
					return err
				}
				if err := auditOffline(ctx, s, adminapi.OfflineChange{Category: "ApplicationManagement", Activity: "Delete application",
					Operation: "Delete", TargetID: a.ClientID, TargetName: a.DisplayName, TargetType: "Application"}); err != nil {
					return err
				}
				fmt.Fprintf(w, "Deleted app %s (%s).\n", a.DisplayName, a.ClientID)
				return nil
			})
		},
	}
}

func newAppsSecretCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Add or remove a confidential app's client secrets (at most 5)"}
	var lifetime time.Duration
	add := &cobra.Command{
		Use:   "add CLIENT-ID [--lifetime 4320h]",
		Short: "Add a client secret; it is shown once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error {
					body := map[string]any{"passwordCredential": map[string]string{
						"endDateTime": time.Now().Add(lifetime).UTC().Format(time.RFC3339)}}
					var out struct{ KeyID, SecretText, EndDateTime string }
					if err := c.call(cmd.Context(), "POST", "/v1.0/applications/"+url.PathEscape(args[0])+"/addPassword", body, &out); err != nil {
						return err
					}
					return printSecret(cmd.OutOrStdout(), c.format, out.KeyID, out.SecretText, out.EndDateTime)
				})
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				secret, cs, err := s.dir.AddAppSecret(ctx, s.tenant.ID, args[0], lifetime)
				if err != nil {
					return err
				}
				if err := auditOffline(ctx, s, adminapi.OfflineChange{Category: "ApplicationManagement",
					Activity: "Update application – Certificates and secrets management", Operation: "Update",
					TargetID: args[0], TargetName: "client secret " + cs.ID, TargetType: "Application"}); err != nil {
					return err
				}
				return printSecret(w, s.format, cs.ID, secret, graphTime(cs.ExpiresAt))
			})
		},
	}
	add.Flags().DurationVar(&lifetime, "lifetime", 180*24*time.Hour, "how long the secret works (at most two years)")
	remove := &cobra.Command{
		Use:   "remove CLIENT-ID KEY-ID",
		Short: "Remove a client secret by its keyId (see apps list -o json); it stops working at once",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error {
					if err := c.call(cmd.Context(), "POST", "/v1.0/applications/"+url.PathEscape(args[0])+"/removePassword",
						map[string]string{"keyId": args[1]}, nil); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "Removed client secret %s of app %s on %s.\n", args[1], args[0], c.Server)
					return nil
				})
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				if _, err := s.dir.RemoveAppSecret(ctx, s.tenant.ID, args[0], args[1]); err != nil {
					return err
				}
				if err := auditOffline(ctx, s, adminapi.OfflineChange{Category: "ApplicationManagement",
					Activity: "Update application – Certificates and secrets management", Operation: "Update",
					TargetID: args[0], TargetName: "client secret " + args[1], TargetType: "Application"}); err != nil {
					return err
				}
				fmt.Fprintf(w, "Removed client secret %s of app %s.\n", args[1], args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(add, remove)
	return cmd
}

func printSecret(w io.Writer, format, keyID, secret, ends string) error {
	out := map[string]string{"keyId": keyID, "secretText": secret, "endDateTime": ends}
	return render(w, format, out, func(tw io.Writer) {
		fmt.Fprintf(tw, "Client secret: %s (shown only this once)\nKey ID:\t%s\nExpires:\t%s\n", secret, keyID, ends)
	})
}

// remoteAppsList is apps list through the API.
func remoteAppsList(ctx context.Context, w io.Writer, c *apiClient) error {
	var list struct{ Value []apiApp }
	if err := c.call(ctx, "GET", "/v1.0/applications", nil, &list); err != nil {
		return err
	}
	out := make([]graphApp, len(list.Value))
	for i, a := range list.Value {
		out[i] = a.graph()
	}
	return render(w, c.format, map[string]any{"value": out}, func(tw io.Writer) { graphAppTable(tw, out) })
}
