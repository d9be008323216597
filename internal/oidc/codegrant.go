package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// authorizationCodeGrant redeems a code from the browser flow: once, by the
// client it was issued to, with the same redirect URI and the PKCE verifier
// of its challenge. A code presented again revokes the refresh tokens its
// first redemption issued: one of the two presenters is an attacker.
func (p *Provider) authorizationCodeGrant(ctx context.Context, req *tokenRequest) (*tokenResponse, *tokenError) {
	rec := req.record
	rec.AuthenticationProtocol, rec.IsInteractive, rec.ClientAppUsed = "authCode", false, "Browser"
	raw, ok := req.form["code"]
	if !ok || raw == "" {
		return nil, errCode(aadsts.MissingParameter, "code")
	}
	now := p.now()
	code, err := p.store.RedeemAuthCode(ctx, hashValue(raw), now)
	switch {
	case errors.Is(err, store.ErrConflict):
		if code.FamilyID != "" {
			if err := p.store.RevokeRefreshFamily(ctx, code.FamilyID, now); err != nil {
				return nil, &tokenError{Code: aadsts.Transient, Cause: err}
			}
		}
		rec.UserID = code.UserID
		return nil, errCode(aadsts.AuthCodeAlreadyRedeemed)
	case isNotFound(err):
		return nil, errCode(aadsts.InvalidRequest)
	case err != nil:
		return nil, &tokenError{Code: aadsts.Transient, Cause: err}
	}
	rec.UserID = code.UserID
	switch {
	case code.ClientID != req.app.ClientID || code.TenantID != req.app.TenantID:
		return nil, errCode(aadsts.InvalidRequest)
	case now.After(code.ExpiresAt):
		return nil, errCode(aadsts.ExpiredOrRevokedGrant)
	case req.form["redirect_uri"] != code.RedirectURI:
		return nil, errCode(aadsts.RedirectURIMismatch, truncate(req.form["redirect_uri"], 256), req.app.ClientID)
	}
	if code.CodeChallenge != "" {
		verifier, ok := req.form["code_verifier"]
		if !ok || verifier == "" {
			return nil, errCode(aadsts.MissingParameter, "code_verifier")
		}
		sum := sha256.Sum256([]byte(verifier))
		if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.CodeChallenge)) != 1 {
			return nil, errCode(aadsts.CodeVerifierMismatch)
		}
	}
	if sess, err := p.store.GetSession(ctx, code.SessionID); err != nil || !sess.RevokedAt.IsZero() {
		return nil, errCode(aadsts.ExpiredOrRevokedGrant) // signed out since the code was issued
	}
	u, terr := p.grantUser(ctx, rec, code.TenantID, code.UserID, code.AuthTime)
	if terr != nil {
		return nil, terr
	}
	// The family is recorded before any token exists, so a replay arriving
	// while this redemption issues them revokes what it issues.
	family := uuid.NewString()
	if err := p.store.SetAuthCodeFamily(ctx, code.Hash, family); err != nil {
		return nil, &tokenError{Code: aadsts.Transient, Cause: err}
	}
	scopes, terr := p.parseScopes(ctx, code.TenantID, code.Scopes)
	if terr != nil {
		return nil, terr
	}
	rec.ResourceID = scopes.resource
	resp, err := p.issueUserTokens(ctx, req.app, u, scopes, issueOptions{clientInfo: req.form["client_info"] == "1",
		nonce: code.Nonce, authTime: code.AuthTime, family: family})
	if err != nil {
		return nil, &tokenError{Code: aadsts.InternalError, Cause: err}
	}
	return resp, nil
}

// grantUser loads the user a code or refresh token was issued to and checks
// they may still have tokens: enabled, and neither a password change nor a
// session revocation since issued.
func (p *Provider) grantUser(ctx context.Context, rec *signinlog.Record, tenantID, userID string, issued time.Time) (store.User, *tokenError) {
	u, err := p.store.GetUser(ctx, tenantID, userID)
	if isNotFound(err) {
		return u, errCode(aadsts.ExpiredOrRevokedGrant)
	} else if err != nil {
		return u, &tokenError{Code: aadsts.Transient, Cause: err}
	}
	rec.UserID, rec.UserDisplayName, rec.UserPrincipalName = u.ID, u.DisplayName, u.UserPrincipalName
	if !u.AccountEnabled {
		return u, errCode(aadsts.UserDisabled)
	}
	if !grantStillValid(issued, u) {
		validFrom := u.SignInSessionsValidFrom
		if u.LastPasswordChangeDateTime.After(validFrom) {
			validFrom = u.LastPasswordChangeDateTime
		}
		return u, errCode(aadsts.FreshTokenNeeded, entraTime(issued), entraTime(validFrom))
	}
	return u, nil
}

func entraTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// refreshTokenGrant redeems a refresh token and rotates it: the answer
// carries a new one and the old one is spent. A spent token presented again
// means it was copied: the whole family (every token descended from the
// same sign-in) is revoked, the thief's and the user's alike.
func (p *Provider) refreshTokenGrant(ctx context.Context, req *tokenRequest) (*tokenResponse, *tokenError) {
	rec := req.record
	rec.AuthenticationProtocol, rec.IsInteractive = "none", false
	raw, ok := req.form["refresh_token"]
	if !ok || raw == "" {
		return nil, errCode(aadsts.MissingParameter, "refresh_token")
	}
	now := p.now()
	t, err := p.store.RefreshTokenByHash(ctx, hashValue(raw))
	switch {
	case isNotFound(err):
		return nil, errCode(aadsts.InvalidRequest)
	case err != nil:
		return nil, &tokenError{Code: aadsts.Transient, Cause: err}
	}
	rec.UserID = t.UserID
	switch {
	case t.ClientID != req.app.ClientID || t.TenantID != req.app.TenantID:
		return nil, errCode(aadsts.InvalidRequest)
	case !t.UsedAt.IsZero():
		return nil, p.refreshReplayed(ctx, rec, t.FamilyID, now)
	case !t.RevokedAt.IsZero(), now.After(t.ExpiresAt):
		return nil, errCode(aadsts.ExpiredOrRevokedGrant)
	}
	u, terr := p.grantUser(ctx, rec, t.TenantID, t.UserID, t.CreatedAt)
	if terr != nil {
		return nil, terr
	}
	scope := t.Scopes
	if requested, ok := req.form["scope"]; ok && requested != "" {
		scope = requested
	}
	scopes, terr := p.parseScopes(ctx, t.TenantID, scope)
	if terr != nil {
		return nil, terr
	}
	scopes.oidc["offline_access"] = true // a refresh token is always renewed
	rec.ResourceID = scopes.resource
	resp, err := p.issueUserTokens(ctx, req.app, u, scopes, issueOptions{clientInfo: req.form["client_info"] == "1", rotate: &t})
	if errors.Is(err, errRefreshReplayed) {
		return nil, p.refreshReplayed(ctx, rec, t.FamilyID, now)
	}
	if err != nil {
		return nil, &tokenError{Code: aadsts.InternalError, Cause: err}
	}
	return resp, nil
}

func (p *Provider) refreshReplayed(ctx context.Context, rec *signinlog.Record, familyID string, now time.Time) *tokenError {
	if err := p.store.RevokeRefreshFamily(ctx, familyID, now); err != nil {
		return &tokenError{Code: aadsts.Transient, Cause: err}
	}
	rec.Status.AdditionalDetails = "A refresh token was presented after it had been redeemed; every token of its sign-in was revoked."
	return errCode(aadsts.ExpiredOrRevokedGrant)
}
