package oidc

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// GraphAppID is Microsoft Graph's well-known app ID. Portcullis serves a
// Graph-shaped API, so scopes without a resource ("User.Read") and
// https://graph.microsoft.com/... scopes are for it, as on Entra.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

const graphURL = "https://graph.microsoft.com/"

var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}

// scopeSet is a parsed scope parameter: OpenID scopes plus at most one
// resource and the permissions asked of it.
type scopeSet struct {
	oidc        map[string]bool
	resource    string   // audience of the access token (an app ID)
	permissions []string // scp values (".default" when asked for the default set)
	granted     []string // scope echoed in the response
}

func (s scopeSet) has(name string) bool { return s.oidc[name] }

func (p *Provider) parseScopes(ctx context.Context, tenantID, raw string) (scopeSet, *tokenError) {
	set := scopeSet{oidc: map[string]bool{}}
	fields := strings.Fields(raw)
	if len(fields) > 50 {
		return set, errCode(aadsts.InvalidScope, truncate(raw, 100))
	}
	for _, s := range fields {
		if oidcScopes[s] {
			set.oidc[s] = true
			set.granted = append(set.granted, s)
			continue
		}
		resource, perm, terr := p.scopeResource(ctx, tenantID, s)
		if terr != nil {
			return set, terr
		}
		if set.resource != "" && set.resource != resource {
			// One access token has one audience, as on Entra.
			return set, errCode(aadsts.InvalidScope, truncate(raw, 100))
		}
		set.resource = resource
		set.permissions = append(set.permissions, perm)
		set.granted = append(set.granted, s)
	}
	if set.resource == "" {
		set.resource = GraphAppID
		set.permissions = []string{"openid", "profile", "email"}
	}
	return set, nil
}

// scopeResource splits one scope into its resource app ID and permission.
func (p *Provider) scopeResource(ctx context.Context, tenantID, scope string) (string, string, *tokenError) {
	if len(scope) > 256 {
		return "", "", errCode(aadsts.InvalidScope, truncate(scope, 100))
	}
	if !strings.Contains(scope, "/") && !strings.Contains(scope, ":") {
		return GraphAppID, scope, nil
	}
	if rest, ok := strings.CutPrefix(scope, graphURL); ok && rest != "" {
		return GraphAppID, rest, nil
	}
	idPart, perm, ok := strings.Cut(strings.TrimPrefix(scope, "api://"), "/")
	if !ok || perm == "" {
		return "", "", errCode(aadsts.InvalidScope, truncate(scope, 100))
	}
	if idPart == strings.TrimSuffix(graphURL, "/") || idPart == GraphAppID {
		return GraphAppID, perm, nil
	}
	id, err := uuid.Parse(idPart)
	if err != nil {
		return "", "", errCode(aadsts.ResourceNotFound, truncate(idPart, 100), tenantID)
	}
	app, err := p.getApp(ctx, id.String())
	if errors.Is(err, store.ErrNotFound) || (err == nil && app.TenantID != tenantID) {
		return "", "", errCode(aadsts.ResourceNotFound, id.String(), tenantID)
	}
	if err != nil {
		return "", "", &tokenError{Code: aadsts.Transient, Cause: err}
	}
	return app.ClientID, perm, nil
}
