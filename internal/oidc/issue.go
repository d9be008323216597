package oidc

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/store"
)

// tokenResponse is the token endpoint's success body.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

func randomBytes32() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}

func newTokenID() string {
	b, _ := randomBytes32()
	return base64.RawURLEncoding.EncodeToString(b[:16])
}

// pairwiseSubject is Entra's per-app sub: stable for one user and one app,
// different across apps, so apps cannot correlate users by sub.
func (p *Provider) pairwiseSubject(tenantID, userID, clientID string) string {
	m := hmac.New(sha256.New, p.subjectKey)
	m.Write([]byte(tenantID + "|" + userID + "|" + clientID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sign serialises claims as a JWT signed with the key their audience needs.
func (p *Provider) sign(ctx context.Context, claims map[string]any) (string, error) {
	signerFor := p.keys.Signer
	if aud, _ := claims["aud"].(string); aud == GraphAppID {
		// Only Portcullis verifies tokens for its own API (see AlgES256).
		signerFor = p.keys.SelfSigner
	}
	signer, err := signerFor(ctx)
	if err != nil {
		return "", err
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return tok, nil
}

func (p *Provider) baseClaims(tenantID, aud string, lifetime time.Duration) map[string]any {
	now := p.now().Unix()
	return map[string]any{
		"iss": p.issuer(tenantID), "aud": aud, "iat": now, "nbf": now, "exp": now + int64(lifetime/time.Second),
		"tid": tenantID, "ver": "2.0", "uti": newTokenID(),
	}
}

// issueOptions are the parts of a user token response that depend on how
// the user signed in.
type issueOptions struct {
	clientInfo bool
	nonce      string    // echoed in the ID token (authorization code flow)
	authTime   time.Time // when the user authenticated; zero = now
	// rotate, when set, is the refresh token being redeemed: the new one
	// replaces it in its family instead of starting a family.
	rotate *store.RefreshToken
	// family, when set, is the family a new refresh token starts.
	family string
}

// issueUserTokens issues the access token (and ID and refresh tokens when
// asked for) after a successful user sign-in.
func (p *Provider) issueUserTokens(ctx context.Context, app *store.App, u store.User, scopes scopeSet, opt issueOptions) (*tokenResponse, error) {
	at := p.baseClaims(u.TenantID, scopes.resource, p.lifetimes.Access)
	at["oid"], at["sub"] = u.ID, p.pairwiseSubject(u.TenantID, u.ID, scopes.resource)
	at["azp"], at["azpacr"] = app.ClientID, map[bool]string{true: "0", false: "1"}[app.Public]
	at["scp"], at["name"], at["preferred_username"] = strings.Join(scopes.permissions, " "), u.DisplayName, u.UserPrincipalName
	if err := p.addRoleClaims(ctx, at, u.TenantID, u.ID, scopes.resource); err != nil {
		return nil, err
	}
	access, err := p.sign(ctx, at)
	if err != nil {
		return nil, err
	}
	resp := &tokenResponse{TokenType: "Bearer", Scope: strings.Join(scopes.granted, " "), AccessToken: access,
		ExpiresIn: int(p.lifetimes.Access / time.Second), ExtExpiresIn: int(p.lifetimes.Access / time.Second)}
	if scopes.has("openid") {
		id := p.baseClaims(u.TenantID, app.ClientID, p.lifetimes.ID)
		id["oid"], id["sub"] = u.ID, p.pairwiseSubject(u.TenantID, u.ID, app.ClientID)
		id["preferred_username"] = u.UserPrincipalName
		if scopes.has("profile") {
			id["name"] = u.DisplayName
		}
		if scopes.has("email") && u.Mail != "" {
			id["email"] = u.Mail
		}
		if opt.nonce != "" {
			id["nonce"] = opt.nonce
		}
		if !opt.authTime.IsZero() {
			id["auth_time"] = opt.authTime.Unix()
		}
		if resp.IDToken, err = p.sign(ctx, id); err != nil {
			return nil, err
		}
	}
	if scopes.has("offline_access") && app.Allows(store.GrantRefreshToken) {
		if resp.RefreshToken, err = p.newRefreshToken(ctx, app, u, resp.Scope, opt); err != nil {
			return nil, err
		}
	}
	if opt.clientInfo {
		resp.ClientInfo = clientInfo(u.ID, u.TenantID)
	}
	return resp, nil
}

// errRefreshReplayed: the refresh token being rotated was redeemed by a
// concurrent request.
var errRefreshReplayed = errors.New("refresh token already redeemed")

// newRefreshToken stores the hash of a fresh opaque refresh token and
// returns the token itself, which exists nowhere else. It starts a family
// (opt.family, or a new one) or, with opt.rotate, replaces that token in
// its family.
func (p *Provider) newRefreshToken(ctx context.Context, app *store.App, u store.User, scope string, opt issueOptions) (string, error) {
	raw, err := randomBytes32()
	if err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	now := p.now().UTC()
	rt := store.RefreshToken{ID: uuid.NewString(), Hash: hex.EncodeToString(sum[:]), FamilyID: cmp.Or(opt.family, uuid.NewString()),
		TenantID: u.TenantID, UserID: u.ID, ClientID: app.ClientID, Scopes: scope, CreatedAt: now,
		ExpiresAt: now.Add(p.lifetimes.Refresh)}
	if opt.rotate == nil {
		if err := p.store.CreateRefreshToken(ctx, rt); err != nil {
			return "", fmt.Errorf("store refresh token: %w", err)
		}
		return token, nil
	}
	rt.FamilyID = opt.rotate.FamilyID
	if err := p.store.RotateRefreshToken(ctx, opt.rotate.ID, rt, now); errors.Is(err, store.ErrConflict) {
		return "", errRefreshReplayed
	} else if err != nil {
		return "", fmt.Errorf("rotate refresh token: %w", err)
	}
	return token, nil
}

// issueAppToken issues an app-only access token (client credentials).
func (p *Provider) issueAppToken(ctx context.Context, app *store.App, scopes scopeSet) (*tokenResponse, error) {
	at := p.baseClaims(app.TenantID, scopes.resource, p.lifetimes.Access)
	// Without separate service principal objects, the app's client ID is its
	// object ID in this tenant.
	at["oid"], at["sub"], at["azp"], at["azpacr"], at["idtyp"] = app.ClientID, app.ClientID, app.ClientID, "1", "app"
	at["roles"] = []string{}
	if err := p.addRoleClaims(ctx, at, app.TenantID, app.ClientID, scopes.resource); err != nil {
		return nil, err
	}
	access, err := p.sign(ctx, at)
	if err != nil {
		return nil, err
	}
	return &tokenResponse{TokenType: "Bearer", Scope: strings.Join(scopes.granted, " "), AccessToken: access,
		ExpiresIn: int(p.lifetimes.Access / time.Second), ExtExpiresIn: int(p.lifetimes.Access / time.Second)}, nil
}

// addRoleClaims adds Entra's wids claim (the directory role template IDs the
// principal holds) to access tokens for the Graph-shaped admin API. It is
// informational: the API itself reads the roles on every request, so a
// removed role stops working before the token expires.
func (p *Provider) addRoleClaims(ctx context.Context, claims map[string]any, tenantID, principalID, audience string) error {
	if audience != GraphAppID {
		return nil
	}
	assignments, err := p.store.ListRoleAssignments(ctx, tenantID, principalID)
	if err != nil {
		return fmt.Errorf("read role assignments: %w", err)
	}
	if len(assignments) == 0 {
		return nil
	}
	wids := make([]string, 0, len(assignments))
	for _, a := range assignments {
		wids = append(wids, a.RoleDefinitionID)
	}
	claims["wids"] = wids
	return nil
}
