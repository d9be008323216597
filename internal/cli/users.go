package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/app"
	"github.com/portcullis-idp/portcullis/internal/config"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/store/sqlstore"
)

// session is what an offline user command needs.
type session struct {
	format string
	tenant store.Tenant
	cfg    config.Config
	db     *sqlstore.DB
	dir    *directory.Service
}

// withSession opens the data directory and runs fn.
func withSession(cmd *cobra.Command, fn func(ctx context.Context, w io.Writer, s session) error) error {
	format, err := outputFormat(cmd)
	if err != nil {
		return err
	}
	cfg, db, err := openData(cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := app.SingleTenant(cmd.Context(), db)
	if err != nil {
		return err
	}
	s := session{format: format, tenant: t, cfg: cfg, db: db, dir: app.DirectoryService(db, cfg)}
	return fn(cmd.Context(), cmd.OutOrStdout(), s)
}

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Manage users (offline, or through the API when logged in)"}
	cmd.AddCommand(newUsersAddCmd(), newUsersListCmd(), newUsersShowCmd(),
		newUsersEnableCmd("enable", true), newUsersEnableCmd("disable", false),
		newUsersSetPasswordCmd(), newUsersImportCmd(), newBannedTermsCmd(),
		newUsersLockoutStatusCmd(), newUsersUnlockCmd())
	return cmd
}

func newUsersAddCmd() *cobra.Command {
	var nu directory.NewUser
	var passwordFile string
	var disabled bool
	cmd := &cobra.Command{
		Use:   "add --upn UPN --display-name NAME [--mail MAIL] [--password-file FILE]",
		Short: "Add a user (a password is generated and shown once unless --password-file is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			generated := ""
			if passwordFile != "" {
				pw, err := readSecretFile(cmd.InOrStdin(), passwordFile)
				if err != nil {
					return err
				}
				nu.Password = pw
			} else {
				generated = app.GeneratePassword()
				nu.Password = generated
			}
			nu.AccountEnabled = !disabled
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteUsersAdd(cmd.Context(), cmd.OutOrStdout(), c, nu, generated) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				return runUsersAdd(ctx, w, s, nu, generated)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&nu.UserPrincipalName, "upn", "", "user principal name, e.g. alice@contoso.com")
	f.StringVar(&nu.DisplayName, "display-name", "", "display name")
	f.StringVar(&nu.Mail, "mail", "", "mail address (also accepted as a sign-in name)")
	f.StringVar(&passwordFile, "password-file", "", "file holding the password (- for stdin)")
	f.BoolVar(&nu.ForceChangePasswordNextSignIn, "force-change", false, "require a password change at next sign-in")
	f.BoolVar(&disabled, "disabled", false, "create the account disabled")
	_ = cmd.MarkFlagRequired("upn")
	_ = cmd.MarkFlagRequired("display-name")
	return cmd
}

func runUsersAdd(ctx context.Context, w io.Writer, s session, nu directory.NewUser, generated string) error {
	u, err := s.dir.AddUser(ctx, s.tenant, nu)
	if err != nil {
		return err
	}
	add := userChange(u, "Add user", "AccountEnabled", "", fmt.Sprint(u.AccountEnabled))
	add.Operation = "Add"
	if err := auditOffline(ctx, s, add); err != nil {
		return err
	}
	type out struct {
		graphUser
		Password string `json:"password,omitempty"`
	}
	return render(w, s.format, out{toGraphUser(u), generated}, func(tw io.Writer) {
		userTable(tw, []store.User{u})
		if generated != "" {
			fmt.Fprintf(tw, "\nPassword: %s (shown only this once)\n", generated)
		}
	})
}

func newUsersListCmd() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List users", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteUsersList(cmd.Context(), cmd.OutOrStdout(), c) })
			}
			return withSession(cmd, runUsersList)
		},
	}
}

func runUsersList(ctx context.Context, w io.Writer, s session) error {
	var all []store.User
	after := ""
	for {
		page, err := s.db.ListUsers(ctx, s.tenant.ID, after, 500)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].LoginKey
	}
	graph := make([]graphUser, len(all))
	for i, u := range all {
		graph[i] = toGraphUser(u)
	}
	return render(w, s.format, map[string]any{"value": graph}, func(tw io.Writer) { userTable(tw, all) })
}

func newUsersShowCmd() *cobra.Command {
	return &cobra.Command{
		Use: "show UPN|ID", Short: "Show one user", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteUsersShow(cmd.Context(), cmd.OutOrStdout(), c, args[0]) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				u, err := findUser(ctx, s, args[0])
				if err != nil {
					return err
				}
				return render(w, s.format, toGraphUser(u), func(tw io.Writer) { userDetail(tw, u) })
			})
		},
	}
}

func userDetail(tw io.Writer, u store.User) {
	g := toGraphUser(u)
	fmt.Fprintf(tw, "ID:\t%s\nUser principal name:\t%s\nDisplay name:\t%s\nMail:\t%s\nAccount enabled:\t%t\n",
		g.ID, g.UserPrincipalName, g.DisplayName, g.Mail, g.AccountEnabled)
	fmt.Fprintf(tw, "Password:\t%s, last changed %s\nMust change password:\t%t\nCreated:\t%s\n",
		g.PasswordHashScheme, g.LastPasswordChangeDateTime, g.ForceChangePasswordNextSignIn, g.CreatedDateTime)
}

func findUser(ctx context.Context, s session, ref string) (store.User, error) {
	u, err := s.dir.FindUser(ctx, s.tenant, ref)
	if err != nil {
		return u, fmt.Errorf("user %q: %w", ref, err)
	}
	return u, nil
}

func newUsersEnableCmd(verb string, enabled bool) *cobra.Command {
	return &cobra.Command{
		Use: verb + " UPN|ID", Short: verb + " sign-in for a user", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteSetEnabled(cmd.Context(), cmd.OutOrStdout(), c, args[0], enabled) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				u, err := findUser(ctx, s, args[0])
				if err != nil {
					return err
				}
				was := u.AccountEnabled
				if u, err = s.dir.SetEnabled(ctx, u, enabled); err != nil {
					return err
				}
				if err := auditOffline(ctx, s, userChange(u, "Update user", "AccountEnabled", fmt.Sprint(was), fmt.Sprint(enabled))); err != nil {
					return err
				}
				return render(w, s.format, toGraphUser(u), func(tw io.Writer) { userDetail(tw, u) })
			})
		},
	}
}

func newUsersSetPasswordCmd() *cobra.Command {
	var passwordFile string
	var force bool
	cmd := &cobra.Command{
		Use: "set-password UPN|ID [--password-file FILE] [--force-change]", Args: cobra.ExactArgs(1),
		Short: "Set a user's password (generated and shown once unless --password-file is given)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				if err == nil && passwordFile != "" {
					err = fmt.Errorf("%w: through the API the server generates a temporary password; "+
						"omit --password-file, or add --data DIR to set a chosen one offline", ErrUsage)
				}
				return cmpOr(err, func() error { return remoteResetPassword(cmd.Context(), cmd.OutOrStdout(), c, args[0]) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				u, err := findUser(ctx, s, args[0])
				if err != nil {
					return err
				}
				pw, generated := app.GeneratePassword(), true
				if passwordFile != "" {
					if pw, err = readSecretFile(cmd.InOrStdin(), passwordFile); err != nil {
						return err
					}
					generated = false
				}
				if u, err = s.dir.SetPassword(ctx, u, pw, force); err != nil {
					return err
				}
				if err := auditOffline(ctx, s, userChange(u, "Reset user password", "ForceChangePasswordNextSignIn", "", fmt.Sprint(force))); err != nil {
					return err
				}
				out := map[string]any{"id": u.ID, "userPrincipalName": u.UserPrincipalName, "forceChangePasswordNextSignIn": force}
				if generated {
					out["password"] = pw
				}
				return render(w, s.format, out, func(tw io.Writer) {
					fmt.Fprintf(tw, "Password of %s changed.\n", u.UserPrincipalName)
					if generated {
						fmt.Fprintf(tw, "Password: %s (shown only this once)\n", pw)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "file holding the password (- for stdin)")
	cmd.Flags().BoolVar(&force, "force-change", false, "require a password change at next sign-in")
	return cmd
}

func newUsersImportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import users from CSV (userPrincipalName, displayName, password or passwordHash [, mail, accountEnabled]); all or nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, ok, err := remoteFor(cmd); err != nil || ok {
				return cmpOr(err, func() error { return remoteUsersImport(cmd.Context(), cmd.OutOrStdout(), c, args[0]) })
			}
			return withSession(cmd, func(ctx context.Context, w io.Writer, s session) error {
				return runUsersImport(ctx, w, s, args[0])
			})
		},
	}
}

func runUsersImport(ctx context.Context, w io.Writer, s session, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	digest := sha256.New()
	users, err := s.dir.ImportCSV(ctx, s.tenant, io.TeeReader(f, digest))
	if err != nil {
		return err
	}
	reason := fmt.Sprintf("CSV import of %s (SHA-256 %x)", filepath.Base(path), digest.Sum(nil))
	changes := make([]adminapi.OfflineChange, 0, len(users))
	for _, u := range users {
		c := userChange(u, "Add user", "AccountEnabled", "", strconv.FormatBool(u.AccountEnabled))
		c.Operation, c.Reason = "Add", reason
		changes = append(changes, c)
	}
	if err := auditOffline(ctx, s, changes...); err != nil {
		return err
	}
	return render(w, s.format, map[string]any{"imported": len(users)}, func(tw io.Writer) {
		fmt.Fprintf(tw, "Imported %d users from %s.\n", len(users), path)
	})
}
