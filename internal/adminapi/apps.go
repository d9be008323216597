package adminapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// graphApplication is Graph's application resource, for the properties
// Portcullis has. An app's client ID is also its object ID here: there are
// no separate service principal objects.
type graphApplication struct {
	Context             string               `json:"@odata.context,omitempty"`
	ID                  string               `json:"id"`
	AppID               string               `json:"appId"`
	DisplayName         string               `json:"displayName"`
	CreatedDateTime     string               `json:"createdDateTime"`
	SignInAudience      string               `json:"signInAudience"`
	IsFallbackPublic    bool                 `json:"isFallbackPublicClient"`
	PublicClient        redirectURIs         `json:"publicClient"`
	Web                 redirectURIs         `json:"web"`
	PasswordCredentials []passwordCredential `json:"passwordCredentials"`
	AllowedGrantTypes   []string             `json:"portcullisAllowedGrantTypes"`
}

type redirectURIs struct {
	RedirectURIs []string `json:"redirectUris"`
}

// passwordCredential never carries the secret, only its hint.
type passwordCredential struct {
	KeyID         string  `json:"keyId"`
	Hint          string  `json:"hint"`
	StartDateTime string  `json:"startDateTime"`
	EndDateTime   *string `json:"endDateTime"`
	SecretText    *string `json:"secretText"` // always null: only a hash is stored
}

func toGraphApp(a store.App) graphApplication {
	g := graphApplication{ID: a.ClientID, AppID: a.ClientID, DisplayName: a.DisplayName, CreatedDateTime: graphTime(a.CreatedAt),
		SignInAudience: "AzureADMyOrg", IsFallbackPublic: a.Public, PublicClient: redirectURIs{RedirectURIs: []string{}},
		Web: redirectURIs{RedirectURIs: []string{}}, PasswordCredentials: []passwordCredential{},
		AllowedGrantTypes: append([]string{}, a.AllowedGrants...)}
	uris := append([]string{}, a.RedirectURIs...)
	if a.Public {
		g.PublicClient.RedirectURIs = uris
	} else {
		g.Web.RedirectURIs = uris
	}
	for _, s := range a.Secrets {
		g.PasswordCredentials = append(g.PasswordCredentials, passwordCredential{KeyID: s.ID, Hint: s.Hint,
			StartDateTime: graphTime(s.CreatedAt), EndDateTime: optionalTime(s.ExpiresAt)})
	}
	return g
}

func (a *API) listApps(w http.ResponseWriter, r *http.Request, p *principal) {
	apps, err := a.store.ListApps(r.Context(), p.tenantID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := collection[graphApplication]{Context: a.odataContext("applications"), Value: []graphApplication{}}
	for _, app := range apps {
		out.Value = append(out.Value, toGraphApp(app))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request, p *principal) {
	app, ok := a.tenantApp(w, r, p)
	if !ok {
		return
	}
	g := toGraphApp(app)
	g.Context = a.odataContext("applications/$entity")
	httpx.WriteJSON(w, http.StatusOK, g)
}

type createAppRequest struct {
	ODataType              string        `json:"@odata.type"`
	DisplayName            string        `json:"displayName"`
	SignInAudience         string        `json:"signInAudience"`
	IsFallbackPublicClient *bool         `json:"isFallbackPublicClient"`
	PublicClient           *redirectURIs `json:"publicClient"`
	Web                    *redirectURIs `json:"web"`
	// PortcullisAllowPasswordGrant lets the app use the resource owner
	// password grant (off by default, as Entra discourages it).
	PortcullisAllowPasswordGrant bool `json:"portcullisAllowPasswordGrant"`
}

// createApp is Graph's POST /applications. A public client has
// publicClient redirect URIs (or isFallbackPublicClient); anything else is
// confidential and gets a client secret, returned once in
// passwordCredentials[0].secretText as Graph's addPassword would.
func (a *API) createApp(w http.ResponseWriter, r *http.Request, p *principal) {
	var req createAppRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	if req.SignInAudience != "" && req.SignInAudience != "AzureADMyOrg" {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "signInAudience must be AzureADMyOrg: apps serve their own tenant.")
		return
	}
	public := req.IsFallbackPublicClient != nil && *req.IsFallbackPublicClient || req.PublicClient != nil && len(req.PublicClient.RedirectURIs) > 0
	if public && req.Web != nil && len(req.Web.RedirectURIs) > 0 {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "An app is either a public client or a web (confidential) app, not both.")
		return
	}
	na := directory.NewApp{Name: req.DisplayName, Public: public, AllowPasswordGrant: req.PortcullisAllowPasswordGrant}
	if req.PublicClient != nil {
		na.RedirectURIs = append(na.RedirectURIs, req.PublicClient.RedirectURIs...)
	}
	if req.Web != nil {
		na.RedirectURIs = append(na.RedirectURIs, req.Web.RedirectURIs...)
	}
	tenant, err := a.store.GetTenant(r.Context(), p.tenantID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	app, secret, err := a.dir.AddApp(r.Context(), tenant, na)
	switch {
	case errors.Is(err, directory.ErrInvalid):
		writeError(w, r, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	a.audit(r, p, auditEntry{category: "ApplicationManagement", activity: "Add application", operation: "Add",
		targets:  []auditTarget{{ID: app.ClientID, DisplayName: app.DisplayName, Type: "Application"}},
		modified: []modifiedProperty{{DisplayName: "PublicClient", NewValue: fmt.Sprint(app.Public)}}})
	g := toGraphApp(app)
	g.Context = a.odataContext("applications/$entity")
	if secret != "" && len(g.PasswordCredentials) == 1 {
		g.PasswordCredentials[0].SecretText = &secret
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", a.publicURL+"/v1.0/applications/"+app.ClientID)
	httpx.WriteJSON(w, http.StatusCreated, g)
}
