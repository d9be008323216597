package admincenter

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

const (
	sessionCookie = "pc_admin"
	flowCookie    = "pc_admin_flow"
	flowLifetime  = 10 * time.Minute
)

// signIn starts the authorization code flow with PKCE against this
// server's own authorize endpoint.
func (c *Center) signIn(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	f := flow{State: randomToken(), Verifier: randomToken(), Return: safeReturn(r.URL.Query().Get("return")),
		Expires: c.now().Add(flowLifetime)}
	if err := c.setCookie(w, flowCookie, f, f.Expires); err != nil {
		http.Error(w, "The sign-in could not start.", http.StatusInternalServerError)
		return
	}
	challenge := sha256.Sum256([]byte(f.Verifier))
	q := url.Values{"client_id": {ClientID}, "response_type": {"code"}, "redirect_uri": {c.redirectURI()},
		"scope": {"openid profile"}, "state": {f.State}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(challenge[:])}}
	http.Redirect(w, r, "/"+c.tenantID+"/oauth2/v2.0/authorize?"+q.Encode(), http.StatusFound)
}

func (c *Center) redirectURI() string { return c.publicURL + CallbackPath }

// safeReturn keeps a return path inside the console: anything else (an
// absolute URL, a scheme-relative //host, a path that would leave /admin
// by dot segments, plain or escaped) becomes the start page.
func safeReturn(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || strings.HasPrefix(p, "//") ||
		strings.ContainsAny(p, "\\\r\n") {
		return "/admin/"
	}
	// u.Path is decoded (%2e is "."): a path that cleaning would change
	// (dot segments, doubled slashes) is refused rather than resolved.
	clean := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	if clean != u.Path || (clean != "/admin" && !strings.HasPrefix(clean, "/admin/")) {
		return "/admin/"
	}
	return p
}

// callback redeems the code in process and starts the session.
func (c *Center) callback(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	var f flow
	err := c.readCookie(r, flowCookie, &f)
	c.clearCookie(w, flowCookie)
	q := r.URL.Query()
	switch {
	case err != nil || !c.now().Before(f.Expires) || q.Get("state") != f.State:
		c.renderError(w, nil, http.StatusBadRequest, "The sign-in could not be completed",
			"The sign-in took too long or was started in another window. Start it again.")
		return
	case q.Get("error") != "":
		c.renderError(w, nil, http.StatusForbidden, "You were not signed in", q.Get("error_description"))
		return
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {ClientID}, "code": {q.Get("code")},
		"redirect_uri": {c.redirectURI()}, "code_verifier": {f.Verifier}}
	status, body := c.call(r, http.MethodPost, "/"+c.tenantID+"/oauth2/v2.0/token", "", strings.NewReader(form.Encode()),
		"application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		c.logger.Warn("admin center code redemption failed", "status", status)
		c.renderError(w, nil, http.StatusBadGateway, "The sign-in could not be completed", "The sign-in service refused the code. Start again.")
		return
	}
	status, body = c.call(r, http.MethodGet, "/v1.0/me", tok.AccessToken, nil, "")
	var me struct {
		ID          string `json:"id"`
		UPN         string `json:"userPrincipalName"`
		DisplayName string `json:"displayName"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &me) != nil || me.ID == "" {
		c.renderError(w, nil, http.StatusForbidden, "You were not signed in", "The account could not be read.")
		return
	}
	s := session{Token: tok.AccessToken, UserID: me.ID, UPN: me.UPN, Name: me.DisplayName, CSRF: randomToken(),
		Expires: c.now().Add(time.Duration(tok.ExpiresIn) * time.Second)}
	if err := c.setCookie(w, sessionCookie, s, s.Expires); err != nil {
		http.Error(w, "The session could not be started.", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, safeReturn(f.Return), http.StatusFound)
}

// signOut ends the console session and the SSO session behind it.
func (c *Center) signOut(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	v, err := c.viewer(r)
	if err == nil && r.PostFormValue("csrf") != v.CSRF {
		http.Error(w, "The form has expired. Go back and try again.", http.StatusForbidden)
		return
	}
	c.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/"+c.tenantID+"/oauth2/v2.0/logout", http.StatusFound)
}
