package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// render writes v as indented JSON, or calls table with a tabwriter.
func render(w io.Writer, format string, v any, table func(tw io.Writer)) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// graphUser is a user in Microsoft Graph's shape.
type graphUser struct {
	ID                            string `json:"id"`
	UserPrincipalName             string `json:"userPrincipalName"`
	DisplayName                   string `json:"displayName"`
	Mail                          string `json:"mail,omitempty"`
	AccountEnabled                bool   `json:"accountEnabled"`
	LastPasswordChangeDateTime    string `json:"lastPasswordChangeDateTime,omitempty"`
	ForceChangePasswordNextSignIn bool   `json:"forceChangePasswordNextSignIn"`
	PasswordHashScheme            string `json:"passwordHashScheme"`
	CreatedDateTime               string `json:"createdDateTime"`
}

func toGraphUser(u store.User) graphUser {
	return graphUser{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, Mail: u.Mail,
		AccountEnabled: u.AccountEnabled, LastPasswordChangeDateTime: graphTime(u.LastPasswordChangeDateTime),
		ForceChangePasswordNextSignIn: u.ForceChangePasswordNextSignIn, PasswordHashScheme: hashScheme(u.PasswordHash),
		CreatedDateTime: graphTime(u.CreatedAt)}
}

// hashScheme names the stored hash's scheme without revealing the hash.
func hashScheme(h string) string {
	switch {
	case h == "":
		return "none"
	case len(h) > 10 && h[:10] == "$argon2id$":
		return "argon2id"
	case len(h) > 3 && h[:2] == "$2":
		return "bcrypt"
	}
	return "unknown"
}

func graphTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func userTable(tw io.Writer, users []store.User) {
	fmt.Fprintln(tw, "USER PRINCIPAL NAME\tDISPLAY NAME\tENABLED\tPASSWORD\tID")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", u.UserPrincipalName, u.DisplayName, u.AccountEnabled, hashScheme(u.PasswordHash), u.ID)
	}
}
