package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"

	"github.com/portcullis-idp/portcullis/internal/adminapi"
	"github.com/portcullis-idp/portcullis/internal/directory"
)

// apiUserDetail is Graph's user as GET /v1.0/users/{id} returns it.
type apiUserDetail struct {
	ID                              string  `json:"id"`
	UserPrincipalName               string  `json:"userPrincipalName"`
	DisplayName                     string  `json:"displayName"`
	Mail                            *string `json:"mail"`
	AccountEnabled                  bool    `json:"accountEnabled"`
	CreatedDateTime                 string  `json:"createdDateTime"`
	LastPasswordChangeDateTime      *string `json:"lastPasswordChangeDateTime"`
	SignInSessionsValidFromDateTime *string `json:"signInSessionsValidFromDateTime"`
}

func remoteUsersShow(ctx context.Context, w io.Writer, c *apiClient, ref string) error {
	var u apiUserDetail
	if err := c.call(ctx, "GET", "/v1.0/users/"+url.PathEscape(ref), nil, &u); err != nil {
		return err
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	return render(w, c.format, u, func(tw io.Writer) {
		fmt.Fprintf(tw, "ID:\t%s\nUser principal name:\t%s\nDisplay name:\t%s\nMail:\t%s\nAccount enabled:\t%t\n",
			u.ID, u.UserPrincipalName, u.DisplayName, deref(u.Mail), u.AccountEnabled)
		fmt.Fprintf(tw, "Password last changed:\t%s\nSessions valid from:\t%s\nCreated:\t%s\n",
			deref(u.LastPasswordChangeDateTime), deref(u.SignInSessionsValidFromDateTime), u.CreatedDateTime)
	})
}

// remoteUsersImport sends the CSV as it is; the server validates every
// row and creates all users or none. No overall timeout: plaintext
// passwords are hashed on a quarter of the server's cores.
func remoteUsersImport(ctx context.Context, w io.Writer, c *apiClient, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > adminapi.MaxImportBytes {
		return fmt.Errorf("%s is over %d MiB, the online limit: split it, or import it offline with --data DIR",
			path, adminapi.MaxImportBytes>>20)
	}
	var out struct {
		Imported int `json:"imported"`
	}
	hdr := http.Header{"Content-Type": {"text/csv; charset=utf-8"}}
	if _, err := c.send(ctx, &http.Client{}, "POST", "/v1.0/portcullis/users/import", hdr, f, &out); err != nil {
		return err
	}
	return render(w, c.format, map[string]any{"imported": out.Imported}, func(tw io.Writer) {
		fmt.Fprintf(tw, "Imported %d users from %s.\n", out.Imported, path)
	})
}

// apiPasswordPolicy is GET /v1.0/portcullis/passwordPolicy.
type apiPasswordPolicy struct {
	MinimumLength       int      `json:"minimumLength"`
	BannedPasswordTerms []string `json:"bannedPasswordTerms"`
}

func bannedTermsOut(w io.Writer, format string, terms []string) error {
	if terms == nil {
		terms = []string{}
	}
	return render(w, format, map[string]any{"bannedPasswordTerms": terms}, func(tw io.Writer) {
		if len(terms) == 0 {
			fmt.Fprintln(tw, "No custom banned terms.")
		}
		for _, term := range terms {
			fmt.Fprintln(tw, term)
		}
	})
}

func remoteBannedTermsList(ctx context.Context, w io.Writer, c *apiClient) error {
	var pol apiPasswordPolicy
	if err := c.call(ctx, "GET", "/v1.0/portcullis/passwordPolicy", nil, &pol); err != nil {
		return err
	}
	return bannedTermsOut(w, c.format, pol.BannedPasswordTerms)
}

// remoteBannedTermsUpdate reads the terms, applies change and writes them
// back under If-Match; when another administrator changed them in between
// it reads again and reapplies (up to three times), so no change is lost.
func remoteBannedTermsUpdate(ctx context.Context, w io.Writer, c *apiClient, change func([]string) ([]string, error)) error {
	for attempt := 0; ; attempt++ {
		var pol apiPasswordPolicy
		hdr, err := c.callHeaders(ctx, "GET", "/v1.0/portcullis/passwordPolicy", nil, nil, &pol)
		if err != nil {
			return err
		}
		next, err := change(slices.Clone(pol.BannedPasswordTerms))
		if err != nil {
			return err
		}
		var after apiPasswordPolicy
		_, err = c.callHeaders(ctx, "PATCH", "/v1.0/portcullis/passwordPolicy", http.Header{"If-Match": {hdr.Get("ETag")}},
			map[string]any{"bannedPasswordTerms": next}, &after)
		var refused *apiError
		if errors.As(err, &refused) && refused.Status == http.StatusPreconditionFailed && attempt < 2 {
			continue
		}
		if err != nil {
			return err
		}
		return bannedTermsOut(w, c.format, after.BannedPasswordTerms)
	}
}

func remoteKeysList(ctx context.Context, w io.Writer, c *apiClient) error {
	var list struct{ Value []adminapi.SigningKey }
	if err := c.call(ctx, "GET", "/v1.0/portcullis/signingKeys", nil, &list); err != nil {
		return err
	}
	return keysOut(w, c.format, list.Value)
}

func remoteKeysRotate(ctx context.Context, w io.Writer, c *apiClient) error {
	if err := c.call(ctx, "POST", "/v1.0/portcullis/signingKeys/rotate", nil, nil); err != nil {
		return err
	}
	return remoteKeysList(ctx, w, c)
}

// remoteAppsAdd is apps add through Graph's POST /applications.
func remoteAppsAdd(ctx context.Context, w io.Writer, c *apiClient, na directory.NewApp) error {
	uris := redirectURIsBody{RedirectURIs: append([]string{}, na.RedirectURIs...)}
	body := map[string]any{"displayName": na.Name, "isFallbackPublicClient": na.Public,
		"portcullisAllowPasswordGrant": na.AllowPasswordGrant}
	if na.Public {
		body["publicClient"] = uris
	} else {
		body["web"] = uris
	}
	var raw json.RawMessage
	if err := c.call(ctx, "POST", "/v1.0/applications", body, &raw); err != nil {
		return err
	}
	var created apiApp
	var once struct {
		PasswordCredentials []struct{ SecretText *string } `json:"passwordCredentials"`
	}
	if err := json.Unmarshal(raw, &created); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	if err := json.Unmarshal(raw, &once); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	secret := ""
	if len(once.PasswordCredentials) > 0 && once.PasswordCredentials[0].SecretText != nil {
		secret = *once.PasswordCredentials[0].SecretText
	}
	return renderCreatedApp(w, c.format, created.graph(), secret)
}

type redirectURIsBody struct {
	RedirectURIs []string `json:"redirectUris"`
}
