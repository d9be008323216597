package oidc

import (
	"context"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/webui"
)

// authorizeParams are the authorization request's parameters.
type authorizeParams struct {
	ClientID, RedirectURI, ResponseType, ResponseMode, State, Nonce, Scope string
	CodeChallenge, CodeChallengeMethod, Prompt, LoginHint, MaxAge          string
}

func readAuthorizeParams(r *http.Request) (authorizeParams, error) {
	var v url.Values
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			return authorizeParams{}, err
		}
		v = r.PostForm
	} else {
		v = r.URL.Query()
	}
	for key, values := range v {
		if len(values) > 1 {
			return authorizeParams{}, errors.New("parameter " + key + " appears more than once")
		}
	}
	return authorizeParams{ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		ResponseType: v.Get("response_type"), ResponseMode: v.Get("response_mode"), State: v.Get("state"),
		Nonce: v.Get("nonce"), Scope: v.Get("scope"), CodeChallenge: v.Get("code_challenge"),
		CodeChallengeMethod: v.Get("code_challenge_method"), Prompt: v.Get("prompt"), LoginHint: v.Get("login_hint"),
		MaxAge: v.Get("max_age")}, nil
}

// authorize is GET|POST /{tenant}/oauth2/v2.0/authorize. Problems with the
// tenant, the client or the redirect URI are shown on the error page (there
// is nowhere safe to send them); every later problem goes back to the app.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request, segment string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		p.errorPage(w, r, nil, http.StatusMethodNotAllowed, errCode(aadsts.InvalidRequestFormat))
		return
	}
	ctx := r.Context()
	params, err := readAuthorizeParams(r)
	if err != nil {
		p.errorPage(w, r, nil, http.StatusBadRequest, errCode(aadsts.DuplicateParameter, "authorize"))
		return
	}
	tenant, app, terr := p.authorizeClient(ctx, segment, params)
	if terr != nil {
		p.errorPage(w, r, tenant, http.StatusBadRequest, terr)
		return
	}
	flow, maxAge, prompt, terr := p.checkAuthorize(ctx, app, params)
	if terr != nil {
		p.redirectError(w, r, flow, terr)
		return
	}
	sess, user := p.currentSession(ctx, r, app.TenantID)
	if sess != nil && params.LoginHint != "" && !sameLogin(params.LoginHint, *user) {
		sess, user = nil, nil // the app asked for someone else
	}
	fresh := sess != nil && (maxAge < 0 || p.now().Sub(sess.CreatedAt) <= time.Duration(maxAge)*time.Second)
	switch {
	case prompt == "none" && !fresh:
		p.redirectError(w, r, flow, errCode(aadsts.UserInteractionRequired))
	case fresh && prompt != "login" && prompt != "select_account":
		p.completeSSO(w, r, *tenant, app, flow, *sess, *user)
	default:
		if user != nil && flow.LoginHint == "" {
			flow.LoginHint = user.UserPrincipalName
		}
		p.showSignIn(w, r, *tenant, app, flow, "", http.StatusOK)
	}
}

// authorizeClient resolves the tenant (the app's own for /common and
// /organizations), the client and its redirect URI.
func (p *Provider) authorizeClient(ctx context.Context, segment string, params authorizeParams) (*store.Tenant, *store.App, *tokenError) {
	ref, terr := p.resolveTenant(ctx, segment)
	if terr != nil {
		return nil, nil, terr
	}
	if params.ClientID == "" {
		return ref.tenant, nil, errCode(aadsts.MissingParameter, "client_id")
	}
	var app store.App
	err := store.ErrNotFound
	if id, perr := uuid.Parse(params.ClientID); perr == nil {
		app, err = p.getApp(ctx, id.String())
	}
	switch {
	case err != nil && !isNotFound(err):
		return ref.tenant, nil, &tokenError{Code: aadsts.Transient, Cause: err}
	case err != nil || (!ref.isAlias() && app.TenantID != ref.tenant.ID):
		return ref.tenant, nil, errCode(aadsts.UnauthorizedClient, truncate(params.ClientID, 64), ref.segment)
	}
	tenant := ref.tenant
	if tenant == nil {
		t, err := p.store.GetTenant(ctx, app.TenantID)
		if err != nil {
			return nil, nil, &tokenError{Code: aadsts.Transient, Cause: err}
		}
		tenant = &t
	}
	if !redirectRegistered(app, params.RedirectURI) {
		return tenant, nil, errCode(aadsts.RedirectURIMismatch, truncate(params.RedirectURI, 256), app.ClientID)
	}
	return tenant, &app, nil
}

// redirectRegistered matches redirect URIs exactly, except that a public
// client's loopback URI matches on any port (RFC 8252 7.3: native apps
// listen on an ephemeral port).
func redirectRegistered(app store.App, uri string) bool {
	if uri == "" {
		return false
	}
	if slices.Contains(app.RedirectURIs, uri) {
		return true
	}
	if !app.Public {
		return false
	}
	got, err := url.Parse(uri)
	if err != nil || got.Scheme != "http" || !isLoopback(got.Hostname()) {
		return false
	}
	for _, registered := range app.RedirectURIs {
		want, err := url.Parse(registered)
		if err == nil && want.Scheme == "http" && want.Hostname() == got.Hostname() && want.Path == got.Path &&
			want.RawQuery == got.RawQuery {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxMaxAge bounds max_age (ten years in seconds), so it never overflows a
// time.Duration.
const maxMaxAge = 10 * 366 * 24 * 3600

// checkAuthorize validates everything after the redirect URI. The flow it
// returns is good enough to carry an error back to the app.
func (p *Provider) checkAuthorize(ctx context.Context, app *store.App, params authorizeParams) (authFlow, int, string, *tokenError) {
	flow := authFlow{TenantID: app.TenantID, ClientID: app.ClientID, RedirectURI: params.RedirectURI,
		ResponseMode: params.ResponseMode, State: params.State, Nonce: params.Nonce, Scope: params.Scope,
		CodeChallenge: params.CodeChallenge, LoginHint: truncate(params.LoginHint, 256),
		Expires: p.now().Add(flowLifetime).Unix()}
	switch params.ResponseMode {
	case "":
		flow.ResponseMode = "query"
	case "query", "form_post":
	default:
		flow.ResponseMode = "query"
		return flow, 0, "", errCode(aadsts.InvalidRequestParameter, "response_mode")
	}
	if params.ResponseType != "code" {
		return flow, 0, "", errCode(aadsts.UnsupportedResponseType, truncate(params.ResponseType, 32))
	}
	if !app.Allows(store.GrantAuthorizationCode) {
		return flow, 0, "", errCode(aadsts.GrantNotAllowedForApp, app.ClientID, store.GrantAuthorizationCode)
	}
	if _, terr := p.parseScopes(ctx, app.TenantID, params.Scope); terr != nil {
		return flow, 0, "", terr
	}
	switch {
	case params.CodeChallenge == "" && app.Public:
		return flow, 0, "", errCode(aadsts.PKCERequired)
	case params.CodeChallenge != "" && params.CodeChallengeMethod != "S256":
		// "plain" protects nothing once the request is seen; only S256.
		return flow, 0, "", errCode(aadsts.InvalidRequestParameter, "code_challenge_method")
	case params.CodeChallenge != "" && (len(params.CodeChallenge) < 43 || len(params.CodeChallenge) > 128):
		return flow, 0, "", errCode(aadsts.InvalidRequestParameter, "code_challenge")
	}
	maxAge := -1
	if params.MaxAge != "" {
		n, err := strconv.Atoi(params.MaxAge)
		if err != nil || n < 0 || n > maxMaxAge {
			return flow, 0, "", errCode(aadsts.InvalidRequestParameter, "max_age")
		}
		maxAge = n
	}
	switch params.Prompt {
	case "", "login", "none", "select_account", "consent":
	default:
		return flow, 0, "", errCode(aadsts.InvalidRequestParameter, "prompt")
	}
	if len(params.State) > 2048 || len(params.Nonce) > 512 {
		return flow, 0, "", errCode(aadsts.InvalidRequestParameter, "state")
	}
	return flow, maxAge, params.Prompt, nil
}

func sameLogin(hint string, u store.User) bool {
	key := loginKeyOf(hint)
	return key == u.LoginKey || (u.MailKey != "" && key == u.MailKey)
}

// showSignIn renders the sign-in page for flow with an optional message.
func (p *Provider) showSignIn(w http.ResponseWriter, r *http.Request, t store.Tenant, app *store.App, flow authFlow, message string, status int) {
	w.Header().Set("Content-Security-Policy", formPageCSP(flow.RedirectURI))
	page := webui.SignIn{Branding: p.branding(t), Action: "/" + t.ID + "/login", AppName: app.DisplayName,
		Username: flow.LoginHint, StaySignedIn: flow.KMSI, Error: message, Flow: p.sealFlow(flow), CSRF: p.csrfToken(w, r)}
	if err := webui.Render(w, status, "signin", page); err != nil {
		p.logger.Error("render the sign-in page", "error", err)
	}
}

// redirectError sends an error back to the app's redirect URI.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, flow authFlow, terr *tokenError) {
	entry := aadsts.MustLookup(terr.Code)
	desc := terr.Code.String() + ": " + aadsts.Describe(terr.Code, terr.Args...) +
		"\r\nTrace ID: " + httpx.RequestID(r.Context()) + "\r\nCorrelation ID: " + httpx.CorrelationID(r.Context()) +
		"\r\nTimestamp: " + p.now().UTC().Format("2006-01-02 15:04:05Z")
	v := url.Values{"error": {entry.OAuthError}, "error_description": {desc},
		"error_uri": {p.publicURL + "/error?code=" + strconv.Itoa(int(terr.Code))}}
	if flow.State != "" {
		v.Set("state", flow.State)
	}
	p.respondToApp(w, flow, v)
}

// respondToApp delivers v to the redirect URI as a query (302) or, for
// response_mode=form_post, as a form the browser posts.
func (p *Provider) respondToApp(w http.ResponseWriter, flow authFlow, v url.Values) {
	noStore(w)
	if flow.ResponseMode == "form_post" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; form-action "+
			originOf(flow.RedirectURI)+"; frame-ancestors 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = formPostTmpl.Execute(w, map[string]any{"Action": flow.RedirectURI, "Values": v,
			"CSS": webui.AssetURL("portcullis.css"), "Script": webui.AssetURL("formpost.js")})
		return
	}
	target, _ := url.Parse(flow.RedirectURI)
	q := target.Query()
	for k, vals := range v {
		q[k] = vals
	}
	target.RawQuery = q.Encode()
	w.Header().Set("Location", target.String())
	w.WriteHeader(http.StatusFound)
}

// originOf is a CSP source for uri: its origin, or its scheme for a
// native app's private-use scheme (com.example.app:/callback).
func originOf(uri string) string {
	u, err := url.Parse(uri)
	switch {
	case err != nil || u.Scheme == "":
		return "'none'"
	case u.Scheme != "http" && u.Scheme != "https":
		return u.Scheme + ":"
	case u.Host == "":
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

// formPostTmpl posts the response to the app: a script submits it at once
// where scripts run, the button where they do not.
var formPostTmpl = template.Must(template.New("formpost").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Continue</title>
<link rel="stylesheet" href="{{.CSS}}"><script src="{{.Script}}" defer></script></head>
<body><main class="page"><section class="card"><form method="post" action="{{.Action}}" id="response">
{{range $k, $vs := .Values}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<p class="lead">Signing you in…</p><button type="submit" class="primary">Continue</button>
</form></section></main></body></html>
`))
