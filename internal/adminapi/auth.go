package adminapi

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-idp/portcullis/internal/oidc"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// principal is an authenticated caller: a user (delegated token) or an app
// (client-credentials token), with the directory roles it holds now.
type principal struct {
	tenantID string
	id       string // user object ID or app client ID
	app      bool
	upn      string // users only
	name     string
	roles    []string
	user     store.User // users only
}

// tokenClaims are the claims the API checks.
type tokenClaims = oidc.AccessClaims

// authFailure is the message a client sees in the 401 body: Graph's own
// wording, so it is a sentence.
type authFailure = oidc.TokenFailure

// authenticate verifies the bearer token: signature by a current or
// previous Portcullis key, issuer of the token's own tenant, Graph audience,
// time window, and a principal that still exists, is enabled and has not
// had its sessions revoked since the token was issued. The messages say what
// is wrong with the token, never anything about the directory.
func (a *API) authenticate(r *http.Request) (*principal, error) {
	p, claims, err := a.verify(r)
	if err != nil && claims != nil {
		// The token is genuinely ours (the signature verified) but no longer
		// good: expired, revoked, wrong audience, disabled user. That is worth
		// a line in its tenant's audit log; forged or garbage tokens name no
		// tenant anyone vouches for and only reach the operational log.
		a.auditRefusedToken(r, claims, err)
	}
	return p, err
}

// verify does the work of authenticate. It returns the verified claims
// (nil until the signature is checked) alongside any error.
func (a *API) verify(r *http.Request) (*principal, *tokenClaims, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return nil, nil, authFailure("Access token is empty.")
	}
	c, err := oidc.VerifyAccessToken(r.Context(), a.keys, a.publicURL, raw, a.now())
	if err != nil {
		return nil, c, err
	}
	p := &principal{tenantID: c.TenantID}
	if c.IDType == "app" {
		app, err := a.store.GetApp(r.Context(), c.AZP)
		if err != nil || app.TenantID != c.TenantID {
			return nil, c, authFailure("Access token principal is not valid.")
		}
		p.app, p.id, p.name = true, app.ClientID, app.DisplayName
	} else {
		u, err := a.store.GetUser(r.Context(), c.TenantID, c.ObjectID)
		if err != nil || !u.AccountEnabled {
			return nil, c, authFailure("Access token principal is not valid.")
		}
		if c.IssuedAt == nil || c.IssuedAt.Time().Before(u.SignInSessionsValidFrom) {
			return nil, c, authFailure("Access token has been revoked.")
		}
		p.id, p.upn, p.name, p.user = u.ID, u.UserPrincipalName, u.DisplayName, u
	}
	assignments, err := a.store.ListRoleAssignments(r.Context(), p.tenantID, p.id)
	if err != nil {
		return nil, c, authFailure("Roles are unavailable.")
	}
	for _, as := range assignments {
		p.roles = append(p.roles, as.RoleDefinitionID)
	}
	return p, c, nil
}

// RevocationTime is the signInSessionsValidFromDateTime to store when
// revoking at now: the next whole second. Tokens carry their issue time in
// whole seconds, so every token issued up to now (even earlier in this same
// second) falls before it; a token issued in the rest of this second is
// refused too, which costs a user at most one second.
func RevocationTime(now time.Time) time.Time {
	return now.UTC().Truncate(time.Second).Add(time.Second)
}

func (a *API) auditRefusedToken(r *http.Request, c *tokenClaims, err error) {
	// One record per token: replaying an expired token must not turn into a
	// stream of durable writes.
	if c.TenantID == "" || !a.refused.firstTime(c.TokenID) {
		return
	}
	who := &principal{tenantID: c.TenantID, id: c.ObjectID, app: c.IDType == "app"}
	if who.app {
		who.id = c.AZP
	}
	a.audit(r, who, auditEntry{category: "Authentication", activity: "Admin API call refused", operation: r.Method,
		failure: err.Error(), targets: []auditTarget{{ID: r.URL.Path, Type: "Resource", DisplayName: r.Method + " " + r.URL.Path}}})
}

// seenSet remembers up to max recent keys; when full it forgets them all
// (a few duplicate audit records are better than unbounded memory).
type seenSet struct {
	mu   sync.Mutex
	keys map[string]struct{}
	max  int
}

func (s *seenSet) firstTime(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok {
		return false
	}
	if s.keys == nil || len(s.keys) >= s.max {
		s.keys = make(map[string]struct{})
	}
	s.keys[key] = struct{}{}
	return true
}
