package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// tokenRequest is a parsed token request on its way through a grant.
type tokenRequest struct {
	r       *http.Request
	form    map[string]string
	tenant  tenantRef
	app     *store.App // set once the client is identified
	started time.Time
	// record is the sign-in log entry being built; nil until the request
	// names a tenant we serve (only then is there a log to write to).
	record *signinlog.Record
	// ip is the verdict about the client address (set before the grant runs).
	ip *guard.IPVerdict
}

// grantFunc runs one grant type after the client is authenticated.
type grantFunc func(ctx context.Context, req *tokenRequest) (*tokenResponse, *tokenError)

func (p *Provider) grants() map[string]grantFunc {
	return map[string]grantFunc{
		store.GrantPassword:          p.passwordGrant,
		store.GrantClientCredentials: p.clientCredentialsGrant,
		store.GrantAuthorizationCode: p.authorizationCodeGrant,
		store.GrantRefreshToken:      p.refreshTokenGrant,
	}
}

// token is POST /{tenant}/oauth2/v2.0/token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request, segment string) {
	req := &tokenRequest{r: r, started: p.now()}
	resp, terr := p.runToken(w, req, segment)
	code := 0
	if terr != nil {
		code = int(terr.Code)
	}
	if req.record != nil {
		p.finishRecord(req, terr)
		if err := p.log.Write(r.Context(), *req.record); err != nil {
			// No durable record, no tokens: the promise is that every
			// answered sign-in is in the log.
			p.logger.Error("sign-in log write failed", "error", err, "correlation_id", req.record.CorrelationID)
			resp, terr = nil, &tokenError{Code: aadsts.Transient, Cause: err}
			code = int(aadsts.Transient)
		}
	}
	result := "success"
	if terr != nil {
		result = "failure"
		if terr.Cause != nil {
			p.logger.Info("token request failed", "code", int(terr.Code), "error", terr.Cause.Error(),
				"request_id", httpx.RequestID(r.Context()))
		}
		p.writeTokenError(w, r, terr)
	} else {
		noStore(w)
		httpx.WriteJSON(w, http.StatusOK, resp)
	}
	p.attempts.WithLabelValues(result, strconv.Itoa(code)).Inc()
}

func (p *Provider) runToken(w http.ResponseWriter, req *tokenRequest, segment string) (*tokenResponse, *tokenError) {
	ctx := req.r.Context()
	ref, terr := p.resolveTenant(ctx, segment)
	if terr != nil {
		return nil, terr
	}
	req.tenant = ref
	form, terr := readForm(w, req.r)
	if terr != nil {
		return nil, terr
	}
	req.form = form
	grantType := form["grant_type"]
	if grantType == "" {
		return nil, errCode(aadsts.MissingParameter, "grant_type")
	}
	grant, ok := p.grants()[grantType]
	if !ok {
		return nil, errCode(aadsts.UnsupportedGrantType, truncate(grantType, 64))
	}
	if terr := p.identifyClient(ctx, req); terr != nil {
		return nil, terr
	}
	if !req.app.Allows(grantType) {
		return nil, errCode(aadsts.GrantNotAllowedForApp, req.app.ClientID, grantType)
	}
	if name := form["username"]; name != "" {
		// Named before the address check, so a refusal for the address is
		// attributed to the account tried (by name: nothing is looked up
		// for a refused source).
		req.record.UserPrincipalName = displayName(name)
	}
	if terr := p.checkSource(req); terr != nil {
		return nil, terr
	}
	return grant(ctx, req)
}

// identifyClient finds the app named by client_id (body or Basic auth),
// starts the sign-in record, and authenticates confidential clients.
func (p *Provider) identifyClient(ctx context.Context, req *tokenRequest) *tokenError {
	clientID, secret, basic, terr := clientCredentials(req)
	if terr != nil {
		return terr
	}
	if clientID == "" {
		return errCode(aadsts.MissingParameter, "client_id")
	}
	tenantName := req.tenant.segment
	if !req.tenant.isAlias() {
		p.startRecord(req, req.tenant.tenant.ID)
		req.record.AppID = truncate(clientID, 64)
	}
	var app store.App
	var err error
	if id, perr := uuid.Parse(clientID); perr == nil {
		app, err = p.getApp(ctx, id.String())
	} else {
		err = store.ErrNotFound
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return &tokenError{Code: aadsts.Transient, Cause: err}
	}
	if err != nil || (!req.tenant.isAlias() && app.TenantID != req.tenant.tenant.ID) {
		return errCode(aadsts.UnauthorizedClient, truncate(clientID, 64), tenantName)
	}
	req.app = &app
	if req.record == nil {
		p.startRecord(req, app.TenantID)
	}
	req.record.AppID, req.record.AppDisplayName = app.ClientID, app.DisplayName
	return p.authenticateClient(req, secret, basic)
}

// clientCredentials reads client_id and client_secret from the body or from
// HTTP Basic authentication (client_secret_basic), refusing a mix that
// disagrees.
func clientCredentials(req *tokenRequest) (id, secret string, basic bool, terr *tokenError) {
	id, secret = req.form["client_id"], req.form["client_secret"]
	user, pass, ok := req.r.BasicAuth()
	if !ok {
		return id, secret, false, nil
	}
	// RFC 6749 2.3.1: Basic credentials are form-encoded before base64.
	bu, err1 := url.QueryUnescape(user)
	bp, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil || (id != "" && id != bu) || secret != "" {
		return "", "", true, errCode(aadsts.InvalidRequestFormat)
	}
	return bu, bp, true, nil
}

func (p *Provider) authenticateClient(req *tokenRequest, secret string, basic bool) *tokenError {
	app := req.app
	if _, hasAssertion := req.form["client_assertion"]; hasAssertion && app.Public {
		return errCode(aadsts.PublicClientWithCredential)
	}
	if app.Public {
		if secret != "" || basic {
			return errCode(aadsts.PublicClientWithCredential)
		}
		return nil
	}
	if secret == "" {
		return errCode(aadsts.MissingClientSecret)
	}
	want := directory.HashClientSecret(secret)
	now := p.now()
	for _, s := range app.Secrets {
		if subtle.ConstantTimeCompare([]byte(s.Hash), []byte(want)) == 1 {
			if now.After(s.ExpiresAt) {
				break // an expired secret is an invalid secret
			}
			return nil
		}
	}
	return errCode(aadsts.InvalidClientSecret, app.ClientID)
}

func (p *Provider) startRecord(req *tokenRequest, tenantID string) {
	r := req.r
	ua := r.UserAgent()
	req.record = &signinlog.Record{
		ID: recordID(r.Context()), CreatedDateTime: req.started.UTC(), TenantID: tenantID,
		IPAddress: httpx.ClientIP(r.Context()).String(), CorrelationID: httpx.CorrelationID(r.Context()),
		UserAgent: truncate(ua, 512), DeviceDetail: signinlog.ParseUserAgent(ua),
		ConditionalAccessStatus: "notApplied", RiskLevelDuringSignIn: "none", AuthenticationProtocol: "none",
		ClientAppUsed: "Mobile Apps and Desktop clients",
	}
}

// finishRecord fills the outcome. Grants set the user fields and the
// protection details; the status comes from the final error.
func (p *Provider) finishRecord(req *tokenRequest, terr *tokenError) {
	rec := req.record
	rec.ProcessingTimeInMilliseconds = p.now().Sub(req.started).Milliseconds()
	if terr == nil {
		rec.Status = signinlog.Status{}
		return
	}
	logged := terr.Code
	if rec.Protection != nil && rec.Protection.PublicErrorCode != 0 {
		// The grant logged a truer code than the one the client was shown.
		logged = aadsts.Code(rec.Status.ErrorCode)
	}
	reason := rec.Status.FailureReason // a grant may have set a more precise one
	if reason == "" {
		reason = aadsts.MustLookup(logged).FailureReason
	}
	rec.Status = signinlog.Status{ErrorCode: int(logged), FailureReason: reason,
		AdditionalDetails: rec.Status.AdditionalDetails}
}

// clientInfo is MSAL's client_info: base64url JSON of the home account IDs.
func clientInfo(oid, tid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"` + oid + `","utid":"` + tid + `"}`))
}

// GrantTypes lists the registered grant types, sorted.
func (p *Provider) GrantTypes() []string {
	var out []string
	for g := range p.grants() {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// recordID is the request's ID, so the request ID a person reads on the
// error page (or a client in x-ms-request-id) finds the sign-in record, as
// in Entra; a fresh time-ordered ID when the request has none.
func recordID(ctx context.Context) string {
	if id, err := uuid.Parse(httpx.RequestID(ctx)); err == nil {
		return id.String()
	}
	return newRecordID()
}

// newRecordID is a time-ordered GUID (UUIDv7): sign-in records are inserted
// in time order, so the ID index grows at its end instead of at random
// pages, which keeps the durable write per record small.
func newRecordID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
