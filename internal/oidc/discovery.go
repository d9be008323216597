package oidc

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/aadsts"
	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// tenantRef is the {tenant} path segment, resolved.
type tenantRef struct {
	segment string
	// tenant is nil for the multi-tenant aliases common and organizations.
	tenant *store.Tenant
}

func (t tenantRef) isAlias() bool { return t.tenant == nil }

// resolveTenant accepts a tenant ID, a verified domain, "common" or
// "organizations", case-insensitively.
func (p *Provider) resolveTenant(ctx context.Context, segment string) (tenantRef, *tokenError) {
	lower := strings.ToLower(segment)
	if lower == "common" || lower == "organizations" {
		return tenantRef{segment: lower}, nil
	}
	var t store.Tenant
	var err error
	if id, perr := uuid.Parse(segment); perr == nil {
		t, err = p.getTenant(ctx, id.String())
	} else if d, derr := directory.NormaliseDomain(segment); derr == nil {
		t, err = p.tenantByDomain(ctx, d)
	} else {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return tenantRef{}, errCode(aadsts.InvalidTenantName, truncate(segment, 100))
	}
	if err != nil {
		return tenantRef{}, &tokenError{Code: aadsts.Transient, Cause: err}
	}
	return tenantRef{segment: segment, tenant: &t}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// issuer is Entra's v2 issuer for a tenant: {public_url}/{tid}/v2.0.
func (p *Provider) issuer(tenantID string) string { return p.publicURL + "/" + tenantID + "/v2.0" }

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request, segment string) {
	ref, terr := p.resolveTenant(r.Context(), segment)
	if terr != nil {
		p.writeTokenError(w, r, terr)
		return
	}
	// For the aliases, Entra publishes a templated issuer; clients substitute
	// the tid claim of each token.
	tid, pathSeg := "{tenantid}", ref.segment
	if !ref.isAlias() {
		tid, pathSeg = ref.tenant.ID, ref.tenant.ID
	}
	base := p.publicURL + "/" + pathSeg
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.issuer(tid),
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 p.GrantTypes(),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "form_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"prompt_values_supported":               []string{"none", "login", "select_account", "consent"},
		"userinfo_endpoint":                     p.publicURL + "/oidc/userinfo",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "nbf", "name", "preferred_username",
			"email", "oid", "tid", "ver", "nonce", "auth_time"},
		"request_uri_parameter_supported": false,
		"tenant_region_scope":             nil,
		"cloud_instance_name":             "microsoftonline.com",
		"cloud_graph_host_name":           "graph.windows.net",
		"msgraph_host":                    "graph.microsoft.com",
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request, segment string) {
	if _, terr := p.resolveTenant(r.Context(), segment); terr != nil {
		p.writeTokenError(w, r, terr)
		return
	}
	set, err := p.keys.JWKS(r.Context())
	if err != nil {
		p.logger.Error("publish keys", "error", err)
		p.writeTokenError(w, r, &tokenError{Code: aadsts.Transient, Cause: err})
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, set)
}

// userRealm answers MSAL's home-realm discovery: every verified domain is a
// managed (password) domain. It reveals whether a domain is served here,
// never whether a user exists.
func (p *Provider) userRealm(w http.ResponseWriter, r *http.Request, upn string) {
	body := map[string]any{
		"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": "microsoftonline.com",
		"cloud_audience_urn": "urn:federation:MicrosoftOnline",
	}
	if key, err := directory.LoginKey(upn); err == nil {
		domain := directory.DomainOf(key)
		if _, err := p.tenantByDomain(r.Context(), domain); err == nil {
			body["account_type"], body["domain_name"] = "Managed", domain
		}
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}
