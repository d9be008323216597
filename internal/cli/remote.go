package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/portcullis-idp/portcullis/internal/app"
)

// login is what `portcullis login` stores: enough to call the admin API as
// the signed-in administrator until the token expires. The file is 0600.
type login struct {
	Server      string    `json:"server"`
	Tenant      string    `json:"tenant"`
	UPN         string    `json:"userPrincipalName"`
	AccessToken string    `json:"accessToken"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// credentialsPath is login.json in the user's configuration directory
// ($XDG_CONFIG_HOME/portcullis, usually ~/.config/portcullis).
func credentialsPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find a place for the login: %w", err)
	}
	return filepath.Join(dir, "portcullis", "login.json"), nil
}

func newLoginCmd() *cobra.Command {
	var server, username, pwFile string
	cmd := &cobra.Command{
		Use:   "login --server URL --username UPN [--password-file FILE]",
		Short: "Sign in to a running Portcullis; management commands then go through its API with your rights",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" || username == "" {
				return fmt.Errorf("%w: --server and --username are required", ErrUsage)
			}
			pw, err := readPasswordFlag(cmd, pwFile)
			if err != nil {
				return err
			}
			l, err := signIn(cmd.Context(), strings.TrimRight(server, "/"), username, pw)
			if err != nil {
				return err
			}
			path, err := credentialsPath()
			if err != nil {
				return err
			}
			if err := writeLogin(path, l); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Signed in to %s as %s until %s. Add --data DIR to work offline instead.\n",
				l.Server, l.UPN, l.ExpiresAt.Local().Format(time.DateTime))
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the server's public URL, for example https://login.contoso.com")
	cmd.Flags().StringVar(&username, "username", "", "your user principal name")
	cmd.Flags().StringVar(&pwFile, "password-file", "-", "file holding your password (- = standard input)")
	return cmd
}

func newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use: "logout", Short: "Forget the stored login", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := credentialsPath()
			if err != nil {
				return err
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Signed out.")
			return nil
		},
	}
}

// readPasswordFlag reads a password file ("-" = standard input), dropping
// one trailing newline.
func readPasswordFlag(cmd *cobra.Command, file string) (string, error) {
	var raw []byte
	var err error
	if file == "-" {
		raw, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	if pw == "" {
		return "", fmt.Errorf("%w: empty password", ErrUsage)
	}
	return pw, nil
}

// signIn runs the password grant of the built-in CLI client for a Graph
// token. The tenant is the domain of the user's UPN.
func signIn(ctx context.Context, server, upn, pw string) (login, error) {
	_, domain, ok := strings.Cut(upn, "@")
	if !ok || domain == "" {
		return login{}, fmt.Errorf("%w: --username must be a user principal name (name@domain)", ErrUsage)
	}
	form := url.Values{"grant_type": {"password"}, "client_id": {app.CLIClientID}, "username": {upn},
		"password": {pw}, "scope": {"https://graph.microsoft.com/.default"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+"/"+url.PathEscape(domain)+"/oauth2/v2.0/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return login{}, fmt.Errorf("%w: --server: %v", ErrUsage, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := httpClient.Do(req)
	if err != nil {
		return login{}, fmt.Errorf("reach %s: %w", server, err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        int    `json:"expires_in"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return login{}, fmt.Errorf("sign in: %s answered %s", server, resp.Status)
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		msg, _, _ := strings.Cut(body.ErrorDescription, "\r\n")
		return login{}, fmt.Errorf("sign in refused: %s", msg)
	}
	return login{Server: server, Tenant: domain, UPN: upn, AccessToken: body.AccessToken,
		ExpiresAt: time.Now().Add(time.Duration(body.ExpiresIn) * time.Second).UTC()}, nil
}

func writeLogin(path string, l login) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// apiClient calls the admin API with the stored login.
type apiClient struct {
	login
	format string
}

// remoteFor returns an API client when the command should go through a
// running server: a login is stored and the data directory was not named
// (--data, --data-dir or PORTCULLIS_DATA_DIR), which keeps offline use
// explicit and always available.
func remoteFor(cmd *cobra.Command) (*apiClient, bool, error) {
	if cmd.Flags().Changed("data") || cmd.Flags().Changed("data-dir") || os.Getenv("PORTCULLIS_DATA_DIR") != "" {
		return nil, false, nil
	}
	path, err := credentialsPath()
	if err != nil {
		return nil, false, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("read the stored login: %w", err)
	}
	var l login
	if err := json.Unmarshal(raw, &l); err != nil || l.AccessToken == "" {
		return nil, false, fmt.Errorf("the stored login %s is damaged: run portcullis login again", path)
	}
	if time.Now().After(l.ExpiresAt) {
		return nil, false, fmt.Errorf("your login to %s expired at %s: run portcullis login again (or add --data DIR to work offline)",
			l.Server, l.ExpiresAt.Local().Format(time.DateTime))
	}
	format, err := outputFormat(cmd)
	if err != nil {
		return nil, false, err
	}
	return &apiClient{login: l, format: format}, true, nil
}

// call sends a JSON request and decodes a JSON answer into out (may be nil).
// Graph error bodies become *apiError, quoting the server.
func (c *apiClient) call(ctx context.Context, method, path string, in, out any) error {
	_, err := c.callHeaders(ctx, method, path, nil, in, out)
	return err
}

// callHeaders is call with request headers (If-Match), returning the
// answer's headers (ETag).
func (c *apiClient) callHeaders(ctx context.Context, method, path string, hdr http.Header, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
		hdr = hdr.Clone()
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr.Set("Content-Type", "application/json")
	}
	return c.send(ctx, httpClient, method, path, hdr, body, out)
}

// send runs one request with the stored token through client.
func (c *apiClient) send(ctx context.Context, client *http.Client, method, path string, hdr http.Header, body io.Reader, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach %s: %w", c.Server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, c.refusal(resp, raw)
	}
	if out != nil && len(raw) > 0 {
		return resp.Header, json.Unmarshal(raw, out)
	}
	return resp.Header, nil
}

// download streams a GET answer to w (exports), turning Graph errors into
// errors like call does.
func (c *apiClient) download(ctx context.Context, w io.Writer, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	resp, err := (&http.Client{}).Do(req) // no overall timeout: an export may be long
	if err != nil {
		return fmt.Errorf("reach %s: %w", c.Server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return c.refusal(resp, raw)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// apiError is a refusal by the server, in Graph's error shape.
type apiError struct {
	Server, Code, Message string
	Status                int
	Details               []string // "target: message", as the server listed them
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s answered %d %s", e.Server, e.Status, http.StatusText(e.Status))
	}
	msg := fmt.Sprintf("%s refused (%s): %s", e.Server, e.Code, e.Message)
	if len(e.Details) > 0 {
		msg += "\n  " + strings.Join(e.Details, "\n  ")
	}
	return msg
}

// refusal turns a non-2xx answer into an *apiError quoting Graph's error body.
func (c *apiClient) refusal(resp *http.Response, raw []byte) error {
	var ge struct {
		Error struct {
			Code, Message string
			Details       []struct{ Code, Message, Target string }
		} `json:"error"`
	}
	e := &apiError{Server: c.Server, Status: resp.StatusCode}
	if json.Unmarshal(raw, &ge) == nil && ge.Error.Code != "" {
		e.Code, e.Message = ge.Error.Code, ge.Error.Message
		for _, d := range ge.Error.Details {
			if d.Target != "" {
				e.Details = append(e.Details, d.Target+": "+d.Message)
			} else {
				e.Details = append(e.Details, d.Message)
			}
		}
	}
	return e
}
