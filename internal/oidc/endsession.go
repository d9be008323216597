package oidc

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/webui"
)

// endSession is GET|POST /{tenant}/oauth2/v2.0/logout: it ends the
// browser's SSO session and returns to post_logout_redirect_uri only when
// that address is registered for the app the request names (by client_id
// or by the audience of id_token_hint): never an open redirect.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request, segment string) {
	ctx := r.Context()
	ref, terr := p.resolveTenant(ctx, segment)
	if terr != nil {
		p.errorPage(w, r, nil, http.StatusBadRequest, terr)
		return
	}
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, ref.tenant, http.StatusBadRequest, errCode(aadsts.InvalidRequestFormat))
		return
	}
	if value := p.readCookie(r, sessionCookie); value != "" {
		if err := p.store.RevokeSession(ctx, hashValue(value), p.now()); err != nil {
			p.errorPage(w, r, ref.tenant, http.StatusServiceUnavailable, &tokenError{Code: aadsts.Transient, Cause: err})
			return
		}
	}
	http.SetCookie(w, p.cookie(sessionCookie, "", -1))
	if target := p.logoutTarget(r, ref); target != "" {
		noStore(w)
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	brand := webui.Branding{Name: "Portcullis"}
	if ref.tenant != nil {
		brand = p.branding(*ref.tenant)
	}
	w.Header().Set("Content-Security-Policy", pageCSP)
	if err := webui.Render(w, http.StatusOK, "signedout", webui.SignedOut{Branding: brand}); err != nil {
		p.logger.Error("render the signed-out page", "error", err)
	}
}

// logoutTarget is the post_logout_redirect_uri with state, or "" when it is
// absent or not registered for the app the request identifies.
func (p *Provider) logoutTarget(r *http.Request, ref tenantRef) string {
	target := r.Form.Get("post_logout_redirect_uri")
	if target == "" || ref.isAlias() {
		return "" // an app of this tenant only: /common would vouch for any tenant's app
	}
	clientID := r.Form.Get("client_id")
	if hint := r.Form.Get("id_token_hint"); hint != "" && clientID == "" {
		clientID = p.hintAudience(r, hint)
	}
	id, err := uuid.Parse(clientID)
	if err != nil {
		return ""
	}
	app, err := p.getApp(r.Context(), id.String())
	if err != nil || app.TenantID != ref.tenant.ID || !slices.Contains(app.RedirectURIs, target) {
		return ""
	}
	if state := r.Form.Get("state"); state != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + "state=" + url.QueryEscape(state)
	}
	return target
}

// hintAudience is the audience of an ID token this server signed (expired
// ones too: a hint names the app, it grants nothing).
func (p *Provider) hintAudience(r *http.Request, hint string) string {
	tok, err := jwt.ParseSigned(hint, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return ""
	}
	jwks, err := p.keys.JWKS(r.Context())
	if err != nil {
		return ""
	}
	keys := jwks.Key(tok.Headers[0].KeyID)
	var c jwt.Claims
	if len(keys) == 0 || tok.Claims(keys[0].Public().Key, &c) != nil || len(c.Audience) != 1 {
		return ""
	}
	return c.Audience[0]
}

// userinfo is OpenID Connect's UserInfo endpoint (GET|POST /oidc/userinfo,
// as Entra serves it for Graph): the signed-in user's claims for a Graph
// access token.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	fail := func(msg string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+msg+`"`)
		httpx.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": msg})
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		fail("Access token is empty.")
		return
	}
	c, err := VerifyAccessToken(r.Context(), p.keys, p.publicURL, raw, p.now())
	if err != nil {
		fail(err.Error())
		return
	}
	if c.IDType == "app" {
		fail("The token was issued to an application, not a user.")
		return
	}
	u, err := p.store.GetUser(r.Context(), c.TenantID, c.ObjectID)
	if err != nil || !u.AccountEnabled || c.IssuedAt == nil || !grantStillValid(c.IssuedAt.Time().Add(time.Second), u) {
		fail("Access token has been revoked.")
		return
	}
	out := map[string]any{"sub": p.pairwiseSubject(u.TenantID, u.ID, c.AZP), "oid": u.ID, "tid": u.TenantID,
		"name": u.DisplayName, "preferred_username": u.UserPrincipalName}
	if u.Mail != "" {
		out["email"] = u.Mail
	}
	noStore(w)
	httpx.WriteJSON(w, http.StatusOK, out)
}
