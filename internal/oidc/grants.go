package oidc

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/guard"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/signinlog"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// MaxPasswordBytes bounds the password parameter. Policy caps passwords at
// 256 bytes; the extra room admits long passwords of migrated hashes.
const MaxPasswordBytes = 1024

// passwordGrant is the resource owner password credentials grant (ROPC).
func (p *Provider) passwordGrant(ctx context.Context, req *tokenRequest) (*tokenResponse, *tokenError) {
	rec := req.record
	rec.AuthenticationProtocol, rec.IsInteractive = "ropc", true
	username, ok := req.form["username"]
	if !ok || strings.TrimSpace(username) == "" {
		return nil, errCode(aadsts.MissingParameter, "username")
	}
	rec.UserPrincipalName = displayName(username)
	pw, ok := req.form["password"]
	if !ok {
		return nil, errCode(aadsts.MissingParameter, "password")
	}
	if len(pw) > MaxPasswordBytes {
		return nil, errCode(aadsts.InvalidRequestParameter, "password")
	}
	scopes, terr := p.parseScopes(ctx, req.app.TenantID, req.form["scope"])
	if terr != nil {
		return nil, terr
	}
	rec.ResourceID = scopes.resource
	user, terr := p.lookupUser(ctx, req.app.TenantID, username)
	if terr != nil {
		return nil, terr
	}
	if user != nil {
		rec.UserID, rec.UserDisplayName, rec.UserPrincipalName = user.ID, user.DisplayName, user.UserPrincipalName
	}
	// Every path below costs at most one hash (a dummy one when there is no
	// account or no password), and refusals cost none for anyone, so the
	// outcome cannot be timed.
	out, err := p.guard.CheckPassword(ctx, guard.Attempt{TenantID: req.app.TenantID, User: user,
		LoginKey: loginKeyOf(username), Password: pw, ClientIP: httpx.ClientIP(ctx), IP: req.ip})
	prot := protectionOf(out)
	rec.Protection = prot
	if err != nil {
		return nil, p.guardFailure(prot, err)
	}
	if out.Decision == guard.DecisionIPBlocked {
		return nil, blockedByIP(rec)
	}
	if terr := passwordVerdict(rec, prot, user, pw, out); terr != nil {
		return nil, terr
	}
	if out.NeedsRehash {
		prot.PasswordRehash = true
		if err := p.guard.Rehash(ctx, func() error { return p.dir.Rehash(ctx, *user, pw) }); err != nil {
			// The sign-in is still good; the upgrade waits for the next one.
			p.logger.Warn("password rehash failed", "user_id", user.ID, "error", err)
			prot.PasswordRehash = false
		}
		p.ForgetUser(*user)
	}
	if !user.AccountEnabled {
		return nil, errCode(aadsts.UserDisabled)
	}
	if user.ForceChangePasswordNextSignIn {
		return nil, errCode(aadsts.PasswordExpired)
	}
	resp, err := p.issueUserTokens(ctx, req.app, *user, scopes, issueOptions{clientInfo: req.form["client_info"] == "1"})
	if err != nil {
		return nil, &tokenError{Code: aadsts.InternalError, Cause: err}
	}
	return resp, nil
}

// protectionOf is the admin-only part of the record: what the guard saw.
func protectionOf(out guard.Outcome) *signinlog.Protection {
	prot := &signinlog.Protection{HashQueueMilliseconds: float64(out.QueueWait.Microseconds()) / 1000,
		SourceClass: out.Class, SourceScope: out.Scope, Failures: out.Failures, Threshold: out.Threshold,
		ConsecutiveLockouts: out.Lockouts, IPMatches: ipMatches(out.IP)}
	if !out.LockedUntil.IsZero() {
		until := out.LockedUntil.UTC()
		prot.LockedUntil = &until
	}
	switch {
	case out.Verified:
		prot.PasswordCorrect = &out.Correct
	case out.KnownWrong || out.Decision == guard.DecisionRepeatedTypo:
		prot.PasswordCorrect = new(bool) // matched a remembered wrong password
	}
	return prot
}

// passwordVerdict turns the guard's outcome into the public error, logging
// the precise reason for administrators. Disabled and expired accounts are
// only reported after a correct password, so neither reveals an account to
// someone who does not know its password; a lock is reported the same way
// for real and unknown names.
func passwordVerdict(rec *signinlog.Record, prot *signinlog.Protection, user *store.User, pw string, out guard.Outcome) *tokenError {
	logAs := func(logged, public aadsts.Code, decision string) *tokenError {
		prot.Decision = decision
		if logged != public {
			rec.Status.ErrorCode, prot.PublicErrorCode = int(logged), int(public)
		}
		return errCode(public)
	}
	switch {
	case out.Refused():
		return logAs(aadsts.IdsLocked, aadsts.IdsLocked, "locked")
	case pw == "":
		return logAs(aadsts.InvalidOrNullPassword, aadsts.InvalidOrNullPassword, "emptyPassword")
	case user == nil:
		return logAs(aadsts.UserAccountNotFound, aadsts.InvalidUserNameOrPassword, "unknownUser")
	case out.Decision == guard.DecisionRepeatedTypo:
		return logAs(aadsts.InvalidUserNameOrPassword, aadsts.InvalidUserNameOrPassword, "repeatedWrongPassword")
	case !out.Verified:
		return logAs(aadsts.InvalidOrNullPassword, aadsts.InvalidUserNameOrPassword, "noPasswordSet")
	case !out.Correct:
		if out.LockedNow {
			rec.Status.AdditionalDetails = "This attempt locked the account."
		}
		return logAs(aadsts.InvalidUserNameOrPassword, aadsts.InvalidUserNameOrPassword, "wrongPassword")
	}
	prot.Decision = "verified"
	return nil
}

// loginKeyOf is the canonical form of a typed name, also for names that are
// not valid UPNs (they still get a budget, like any unknown name).
func loginKeyOf(typed string) string {
	if k, err := directory.LoginKey(typed); err == nil {
		return k
	}
	return strings.ToLower(strings.ToValidUTF8(truncate(typed, 256), ""))
}

func (p *Provider) guardFailure(prot *signinlog.Protection, err error) *tokenError {
	if guard.IsOverloaded(err) {
		prot.Decision = "hashPoolOverloaded"
		return &tokenError{Code: aadsts.TenantThrottling, RetryAfter: time.Second, Cause: err}
	}
	if guard.IsStateUnavailable(err) {
		prot.Decision = "sharedStateUnavailable"
		return &tokenError{Code: aadsts.TenantThrottling, RetryAfter: 5 * time.Second, Cause: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		prot.Decision = "cancelled"
		return &tokenError{Code: aadsts.Transient, Cause: err}
	}
	prot.Decision = "error"
	return &tokenError{Code: aadsts.InternalError, Cause: err}
}

// lookupUser resolves a sign-in name; a malformed name is simply unknown.
func (p *Provider) lookupUser(ctx context.Context, tenantID, name string) (*store.User, *tokenError) {
	key, err := directory.LoginKey(name)
	if err != nil {
		return nil, nil
	}
	u, err := p.userByLogin(ctx, tenantID, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, &tokenError{Code: aadsts.Transient, Cause: err}
	}
	return &u, nil
}

// displayName is the name to log for what was typed: normalised when it is
// a valid UPN, else the raw text, bounded.
func displayName(typed string) string {
	if d, err := directory.DisplayUPN(typed); err == nil {
		return d
	}
	return truncate(strings.ToValidUTF8(typed, "\uFFFD"), directory.MaxUPNLength)
}

// clientCredentialsGrant issues an app-only token to a confidential client.
func (p *Provider) clientCredentialsGrant(ctx context.Context, req *tokenRequest) (*tokenResponse, *tokenError) {
	req.record.IsInteractive, req.record.ClientAppUsed = false, ""
	if req.tenant.isAlias() {
		return nil, errCode(aadsts.MissingTenantForCommon)
	}
	raw, ok := req.form["scope"]
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, errCode(aadsts.MissingParameter, "scope")
	}
	fields := strings.Fields(raw)
	if len(fields) != 1 || !strings.HasSuffix(fields[0], "/.default") {
		return nil, errCode(aadsts.ScopeMustBeDefaultForClientCredentials, truncate(raw, 100))
	}
	scopes, terr := p.parseScopes(ctx, req.app.TenantID, raw)
	if terr != nil {
		return nil, terr
	}
	req.record.ResourceID = scopes.resource
	resp, err := p.issueAppToken(ctx, req.app, scopes)
	if err != nil {
		return nil, &tokenError{Code: aadsts.InternalError, Cause: err}
	}
	return resp, nil
}
