package adminapi

import (
	"errors"
	"net/http"

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
	id := r.PathValue("id")
	app, err := a.store.GetApp(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && app.TenantID != p.tenantID {
		writeError(w, r, http.StatusNotFound, codeNotFound, "Resource '"+id+"' does not exist.")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	g := toGraphApp(app)
	g.Context = a.odataContext("applications/$entity")
	httpx.WriteJSON(w, http.StatusOK, g)
}
