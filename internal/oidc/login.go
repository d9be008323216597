package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/directory/password"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
	"github.com/portcullis-idp/portcullis/internal/webui"
)

// passwordChangeWindow bounds how long after verifying the current password
// a forced change may be completed.
const passwordChangeWindow = 10 * time.Minute

// browserForm is a posted sign-in page, its flow and CSRF checked.
type browserForm struct {
	flow   authFlow
	tenant store.Tenant
	app    *store.App
	values url.Values
}

// readBrowserForm parses a posted page. Failures end on the error page: a
// forged or stale form has no trustworthy app to return to.
func (p *Provider) readBrowserForm(w http.ResponseWriter, r *http.Request, segment string) (*browserForm, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		p.errorPage(w, r, nil, http.StatusMethodNotAllowed, errCode(aadsts.EndpointOnlyAcceptsPost))
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, nil, http.StatusBadRequest, errCode(aadsts.InvalidRequestFormat))
		return nil, false
	}
	v := r.PostForm
	flow, err := p.openFlow(v.Get("flow"))
	if err != nil || !p.checkCSRF(r, v.Get("csrf")) || segment != flow.TenantID {
		code := aadsts.InvalidRequestFormat
		if errors.Is(err, errFlowExpired) {
			code = aadsts.ExpiredOrRevokedGrant
		}
		p.errorPage(w, r, nil, http.StatusBadRequest, errCode(code))
		return nil, false
	}
	ctx := r.Context()
	t, err := p.store.GetTenant(ctx, flow.TenantID)
	if err != nil {
		p.errorPage(w, r, nil, http.StatusServiceUnavailable, &tokenError{Code: aadsts.Transient, Cause: err})
		return nil, false
	}
	app, err := p.getApp(ctx, flow.ClientID)
	if err != nil || app.TenantID != t.ID {
		p.errorPage(w, r, &t, http.StatusBadRequest, errCode(aadsts.UnauthorizedClient, flow.ClientID, t.ID))
		return nil, false
	}
	// The registration may have changed since the page was shown.
	if !redirectRegistered(app, flow.RedirectURI) || !app.Allows(store.GrantAuthorizationCode) {
		p.errorPage(w, r, &t, http.StatusBadRequest, errCode(aadsts.RedirectURIMismatch, truncate(flow.RedirectURI, 256), app.ClientID))
		return nil, false
	}
	return &browserForm{flow: flow, tenant: t, app: &app, values: v}, true
}

// browserRecord starts the sign-in log record of a browser sign-in.
func (p *Provider) browserRecord(r *http.Request, f *browserForm) *tokenRequest {
	req := &tokenRequest{r: r, started: p.now(), app: f.app}
	p.startRecord(req, f.tenant.ID)
	rec := req.record
	rec.AppID, rec.AppDisplayName = f.app.ClientID, f.app.DisplayName
	rec.ClientAppUsed, rec.IsInteractive, rec.AuthenticationProtocol = "Browser", true, "none"
	return req
}

// writeRecord commits the record; false means the sign-in must not go on
// (no durable record, no tokens), and the error page was shown.
func (p *Provider) writeRecord(w http.ResponseWriter, r *http.Request, req *tokenRequest, t *store.Tenant, terr *tokenError) bool {
	p.finishRecord(req, terr)
	code := 0
	if terr != nil {
		code = int(terr.Code)
	}
	result := map[bool]string{true: "success", false: "failure"}[terr == nil]
	p.attempts.WithLabelValues(result, strconv.Itoa(code)).Inc()
	if err := p.log.Write(r.Context(), *req.record); err != nil {
		p.logger.Error("sign-in log write failed", "error", err, "correlation_id", req.record.CorrelationID)
		p.errorPage(w, r, t, http.StatusServiceUnavailable, &tokenError{Code: aadsts.Transient, Cause: err})
		return false
	}
	return true
}

// signInPost is POST /{tenant}/login: the username and password page. It
// goes through the same gate as every other credential path: the address
// verdict, then the guard with the browser's device cookie for the named
// user, and writes one sign-in record before answering.
func (p *Provider) signInPost(w http.ResponseWriter, r *http.Request, segment string) {
	f, ok := p.readBrowserForm(w, r, segment)
	if !ok {
		return
	}
	ctx := r.Context()
	username, pw := f.values.Get("username"), f.values.Get("password")
	f.flow.LoginHint, f.flow.KMSI = truncate(username, 256), f.values.Get("kmsi") == "1"
	req := p.browserRecord(r, f)
	rec := req.record
	rec.UserPrincipalName = displayName(username)
	user, terr := p.lookupUser(ctx, f.tenant.ID, username)
	if terr == nil && len(pw) > MaxPasswordBytes {
		terr = errCode(aadsts.InvalidRequestParameter, "password")
	}
	var out guard.Outcome
	if terr == nil {
		if user != nil {
			rec.UserID, rec.UserDisplayName, rec.UserPrincipalName = user.ID, user.DisplayName, user.UserPrincipalName
		}
		out, terr = p.checkBrowserPassword(ctx, req, user, username, pw)
	}
	if terr == nil && !user.AccountEnabled {
		terr = errCode(aadsts.UserDisabled)
	}
	if terr == nil && user.ForceChangePasswordNextSignIn {
		terr = errCode(aadsts.PasswordExpired)
	}
	if !p.writeRecord(w, r, req, &f.tenant, terr) {
		return
	}
	switch {
	case terr == nil:
		p.rehashAfterSignIn(ctx, user, pw, out, rec.Protection)
		p.finishSignIn(w, r, f, *user)
	case terr.Code == aadsts.PasswordExpired:
		f.flow.UserID, f.flow.Verified, f.flow.PasswordSet = user.ID, p.now().UnixMicro(), user.LastPasswordChangeDateTime.UnixMicro()
		f.flow.Expires = p.now().Add(passwordChangeWindow).Unix()
		p.showChangePassword(w, r, f, *user, "")
	case terr.Code == aadsts.UserDisabled, terr.Code == aadsts.Transient, terr.Code == aadsts.InternalError,
		terr.Code == aadsts.TenantThrottling:
		p.errorPage(w, r, &f.tenant, aadsts.MustLookup(terr.Code).HTTPStatus, terr)
	default:
		p.showSignIn(w, r, f.tenant, f.app, f.flow, p.signInMessage(terr.Code), http.StatusOK)
	}
}

// checkBrowserPassword runs the gate for a typed password.
func (p *Provider) checkBrowserPassword(ctx context.Context, req *tokenRequest, user *store.User, username, pw string) (guard.Outcome, *tokenError) {
	rec := req.record
	verdict := p.guard.CheckIP(req.app.TenantID, httpx.ClientIP(ctx))
	device := p.deviceCookieFor(ctx, req.r, user)
	out, err := p.guard.CheckPassword(ctx, guard.Attempt{TenantID: req.app.TenantID, User: user, LoginKey: loginKeyOf(username),
		Password: pw, ClientIP: httpx.ClientIP(ctx), Device: device, IP: &verdict})
	prot := protectionOf(out)
	rec.Protection = prot
	if verdict.LocationFound {
		l := verdict.Location
		rec.Location = signinlog.Location{City: l.City, State: l.State, CountryOrRegion: l.CountryOrRegion}
	}
	if err != nil {
		return out, p.guardFailure(prot, err)
	}
	if out.Decision == guard.DecisionIPBlocked {
		return out, blockedByIP(rec)
	}
	return out, passwordVerdict(rec, prot, user, pw, out)
}

func (p *Provider) rehashAfterSignIn(ctx context.Context, user *store.User, pw string, out guard.Outcome, prot *signinlog.Protection) {
	if !out.NeedsRehash {
		return
	}
	if err := p.guard.Rehash(ctx, func() error { return p.dir.Rehash(ctx, *user, pw) }); err != nil {
		p.logger.Warn("password rehash failed", "user_id", user.ID, "error", err)
		return
	}
	prot.PasswordRehash = true
	p.ForgetUser(*user)
}

// signInMessage is what the page says after a refused password. A lock (of
// the account or the address) reads like a wrong password unless the
// administrator chose to reveal it: a guesser must not learn which names
// are real or that guessing has been noticed.
func (p *Provider) signInMessage(code aadsts.Code) string {
	switch code {
	case aadsts.IdsLocked:
		if p.browser.RevealLockout {
			return aadsts.MustLookup(aadsts.IdsLocked).UserMessage
		}
		return aadsts.MustLookup(aadsts.InvalidUserNameOrPassword).UserMessage
	case aadsts.InvalidOrNullPassword, aadsts.InvalidRequestParameter:
		return "Please enter your password."
	case aadsts.MissingParameter:
		return "Enter a valid email address or username."
	}
	return aadsts.MustLookup(aadsts.InvalidUserNameOrPassword).UserMessage
}

func (p *Provider) showChangePassword(w http.ResponseWriter, r *http.Request, f *browserForm, u store.User, message string) {
	w.Header().Set("Content-Security-Policy", formPageCSP(f.flow.RedirectURI))
	page := webui.ChangePassword{Branding: p.branding(f.tenant), Action: "/" + f.tenant.ID + "/login/password",
		Username: u.UserPrincipalName, Error: message, Flow: p.sealFlow(f.flow), CSRF: p.csrfToken(w, r),
		Reason: "You need to update your password because this is the first time you are signing in, or because your password has expired."}
	if err := webui.Render(w, http.StatusOK, "changepassword", page); err != nil {
		p.logger.Error("render the password change page", "error", err)
	}
}

// changePasswordPost is POST /{tenant}/login/password: the forced change,
// allowed only on a flow whose current password was verified moments ago.
func (p *Provider) changePasswordPost(w http.ResponseWriter, r *http.Request, segment string) {
	f, ok := p.readBrowserForm(w, r, segment)
	if !ok {
		return
	}
	ctx := r.Context()
	verified := time.UnixMicro(f.flow.Verified)
	if f.flow.UserID == "" || p.now().Sub(verified) > passwordChangeWindow {
		p.errorPage(w, r, &f.tenant, http.StatusBadRequest, errCode(aadsts.ExpiredOrRevokedGrant))
		return
	}
	u, err := p.store.GetUser(ctx, f.tenant.ID, f.flow.UserID)
	if err != nil || !u.AccountEnabled || !u.ForceChangePasswordNextSignIn ||
		u.LastPasswordChangeDateTime.UnixMicro() != f.flow.PasswordSet || !grantStillValid(verified, u) {
		// Gone, disabled, no longer asked to change, its password changed,
		// or its sessions revoked since the password was verified.
		p.errorPage(w, r, &f.tenant, http.StatusBadRequest, errCode(aadsts.ExpiredOrRevokedGrant))
		return
	}
	if v := p.guard.CheckIP(f.tenant.ID, httpx.ClientIP(ctx)); !guard.PassesIPBlock(v, &u, p.deviceCookieFor(ctx, r, &u)) {
		p.errorPage(w, r, &f.tenant, http.StatusForbidden, errCode(aadsts.IdsLocked))
		return
	}
	next, confirm := f.values.Get("new_password"), f.values.Get("confirm_password")
	if next != confirm {
		p.showChangePassword(w, r, f, u, "The passwords don't match.")
		return
	}
	changed, err := p.dir.ChangePassword(ctx, u, next)
	var v *password.Violation
	switch {
	case errors.As(err, &v), errors.Is(err, directory.ErrInvalid):
		p.showChangePassword(w, r, f, u, policyMessage(err))
		return
	case errors.Is(err, store.ErrConflict):
		// Changed meanwhile: by an administrator, or by this very form
		// posted twice. Either way this form is spent.
		p.errorPage(w, r, &f.tenant, http.StatusBadRequest, errCode(aadsts.ExpiredOrRevokedGrant))
		return
	case err != nil:
		p.errorPage(w, r, &f.tenant, http.StatusServiceUnavailable, &tokenError{Code: aadsts.Transient, Cause: err})
		return
	}
	p.ForgetUser(u)
	req := p.browserRecord(r, f)
	req.record.UserID, req.record.UserDisplayName, req.record.UserPrincipalName = u.ID, u.DisplayName, u.UserPrincipalName
	req.record.Protection = &signinlog.Protection{Decision: "passwordChanged"}
	if !p.writeRecord(w, r, req, &f.tenant, nil) {
		return
	}
	p.finishSignIn(w, r, f, changed)
}

// policyMessage is the password policy's reason, which names the rule and
// never the password.
func policyMessage(err error) string {
	var v *password.Violation
	if errors.As(err, &v) {
		return v.Error()
	}
	return "Choose a different password."
}

// finishSignIn starts the SSO session, gives the browser a device cookie
// and returns a code to the app.
func (p *Provider) finishSignIn(w http.ResponseWriter, r *http.Request, f *browserForm, u store.User) {
	ctx := r.Context()
	sess, err := p.startSession(ctx, w, u, f.flow.KMSI)
	if err == nil {
		err = p.issueDeviceCookie(ctx, w, r, u)
	}
	if err != nil {
		p.errorPage(w, r, &f.tenant, http.StatusServiceUnavailable, &tokenError{Code: aadsts.Transient, Cause: err})
		return
	}
	p.returnCode(w, r, &f.tenant, f.flow, sess, u)
}

// completeSSO answers an authorization request from the browser's session,
// with a record in the sign-in log like any other sign-in.
func (p *Provider) completeSSO(w http.ResponseWriter, r *http.Request, t store.Tenant, app *store.App, flow authFlow, sess store.Session, u store.User) {
	ctx := r.Context()
	req := p.browserRecord(r, &browserForm{tenant: t, app: app})
	req.record.UserID, req.record.UserDisplayName, req.record.UserPrincipalName = u.ID, u.DisplayName, u.UserPrincipalName
	req.record.Protection = &signinlog.Protection{Decision: "session"}
	// A session is no pass through an address block: a stolen session
	// cookie used from a blocked network gets nothing either.
	if v := p.guard.CheckIP(t.ID, httpx.ClientIP(ctx)); !guard.PassesIPBlock(v, &u, p.deviceCookieFor(ctx, r, &u)) {
		req.record.Protection.IPMatches = ipMatches(v)
		terr := blockedByIP(req.record)
		if p.writeRecord(w, r, req, &t, terr) {
			p.showSignIn(w, r, t, app, flow, p.signInMessage(aadsts.IdsLocked), http.StatusOK)
		}
		return
	}
	if !p.writeRecord(w, r, req, &t, nil) {
		return
	}
	p.returnCode(w, r, &t, flow, sess, u)
}

// returnCode issues an authorization code for the flow and sends it.
func (p *Provider) returnCode(w http.ResponseWriter, r *http.Request, t *store.Tenant, flow authFlow, sess store.Session, u store.User) {
	b, err := randomBytes32()
	if err != nil {
		p.errorPage(w, r, t, http.StatusInternalServerError, &tokenError{Code: aadsts.InternalError, Cause: err})
		return
	}
	code := "1." + base64.RawURLEncoding.EncodeToString(b)
	now := p.now().UTC()
	err = p.store.CreateAuthCode(r.Context(), store.AuthCode{Hash: hashValue(code), TenantID: u.TenantID,
		ClientID: flow.ClientID, UserID: u.ID, RedirectURI: flow.RedirectURI, Scopes: flow.Scope, Nonce: flow.Nonce,
		CodeChallenge: flow.CodeChallenge, SessionID: sess.ID, AuthTime: sess.CreatedAt, CreatedAt: now,
		ExpiresAt: now.Add(codeLifetime)})
	if err != nil {
		p.errorPage(w, r, t, http.StatusServiceUnavailable, &tokenError{Code: aadsts.Transient, Cause: err})
		return
	}
	v := url.Values{"code": {code}, "session_state": {sess.ID[:16]}}
	if flow.State != "" {
		v.Set("state", flow.State)
	}
	p.respondToApp(w, flow, v)
}

// errorPage shows an error the app cannot be told about, Entra-style: a
// plain message and the details a helpdesk needs.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, t *store.Tenant, status int, terr *tokenError) {
	if terr.Cause != nil {
		p.logger.Info("browser sign-in failed", "code", int(terr.Code), "error", terr.Cause.Error(),
			"request_id", httpx.RequestID(r.Context()))
	}
	brand := webui.Branding{Name: "Portcullis"}
	if t != nil {
		brand = p.branding(*t)
	}
	entry := aadsts.MustLookup(terr.Code)
	w.Header().Set("Content-Security-Policy", pageCSP)
	page := webui.Error{Branding: brand, Title: "We couldn't sign you in", Message: entry.UserMessage,
		Code: terr.Code.String(), CodeURL: "/error?code=" + strconv.Itoa(int(terr.Code)),
		RequestID: httpx.RequestID(r.Context()), CorrelationID: httpx.CorrelationID(r.Context()),
		Timestamp: p.now().UTC().Format("2006-01-02 15:04:05Z")}
	if err := webui.Render(w, status, "error", page); err != nil {
		p.logger.Error("render the error page", "error", err)
	}
}
