package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-idp/portcullis/internal/directory"
	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// updateAppRequest is the part of Graph's application a PATCH may change.
type updateAppRequest struct {
	DisplayName                  *string       `json:"displayName"`
	PublicClient                 *redirectURIs `json:"publicClient"`
	Web                          *redirectURIs `json:"web"`
	PortcullisAllowPasswordGrant *bool         `json:"portcullisAllowPasswordGrant"`
}

// updateApp is Graph's PATCH /applications/{id}: 204 on success.
func (a *API) updateApp(w http.ResponseWriter, r *http.Request, p *principal) {
	var req updateAppRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	cur, ok := a.tenantApp(w, r, p)
	if !ok {
		return
	}
	ch := directory.AppChange{Name: req.DisplayName, AllowPasswordGrant: req.PortcullisAllowPasswordGrant}
	mine, other, kind := req.Web, req.PublicClient, "publicClient"
	if cur.Public {
		mine, other, kind = req.PublicClient, req.Web, "web"
	}
	if other != nil {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s redirect URIs do not apply to this app: it is %s.",
			kind, map[bool]string{true: "a public client", false: "a web (confidential) app"}[cur.Public]))
		return
	}
	if mine != nil {
		uris := append([]string{}, mine.RedirectURIs...)
		ch.RedirectURIs = &uris
	}
	before, after, err := a.dir.UpdateApp(r.Context(), p.tenantID, cur.ClientID, ch)
	if !a.appWritten(w, r, cur.ClientID, err) {
		return
	}
	var changes []modifiedProperty
	if before.DisplayName != after.DisplayName {
		changes = append(changes, modifiedProperty{DisplayName: "DisplayName", OldValue: before.DisplayName, NewValue: after.DisplayName})
	}
	if !slices.Equal(before.RedirectURIs, after.RedirectURIs) {
		changes = append(changes, modifiedProperty{DisplayName: "RedirectUris",
			OldValue: strings.Join(before.RedirectURIs, " "), NewValue: strings.Join(after.RedirectURIs, " ")})
	}
	if !slices.Equal(before.AllowedGrants, after.AllowedGrants) {
		changes = append(changes, modifiedProperty{DisplayName: "AllowedGrantTypes",
			OldValue: strings.Join(before.AllowedGrants, " "), NewValue: strings.Join(after.AllowedGrants, " ")})
	}
	a.audit(r, p, auditEntry{category: "ApplicationManagement", activity: "Update application", operation: "Update",
		targets: []auditTarget{{ID: after.ClientID, DisplayName: after.DisplayName, Type: "Application"}}, modified: changes})
	w.WriteHeader(http.StatusNoContent)
}

// deleteApp is Graph's DELETE /applications/{id}: 204 on success.
func (a *API) deleteApp(w http.ResponseWriter, r *http.Request, p *principal) {
	cur, ok := a.tenantApp(w, r, p)
	if !ok {
		return
	}
	gone, err := a.dir.DeleteApp(r.Context(), p.tenantID, cur.ClientID)
	if !a.appWritten(w, r, cur.ClientID, err) {
		return
	}
	a.audit(r, p, auditEntry{category: "ApplicationManagement", activity: "Delete application", operation: "Delete",
		targets: []auditTarget{{ID: gone.ClientID, DisplayName: gone.DisplayName, Type: "Application"}}})
	w.WriteHeader(http.StatusNoContent)
}

type addPasswordRequest struct {
	PasswordCredential *struct {
		DisplayName *string `json:"displayName"`
		EndDateTime *string `json:"endDateTime"`
	} `json:"passwordCredential"`
}

// addAppPassword is Graph's POST /applications/{id}/addPassword: the new
// passwordCredential with its secretText, which is never shown again.
func (a *API) addAppPassword(w http.ResponseWriter, r *http.Request, p *principal) {
	var req addPasswordRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	lifetime := time.Duration(0) // the default, 180 days
	if pc := req.PasswordCredential; pc != nil {
		if pc.DisplayName != nil && *pc.DisplayName != "" {
			writeError(w, r, http.StatusBadRequest, codeBadRequest,
				"passwordCredential.displayName is not supported: secrets are told apart by keyId and hint.")
			return
		}
		if pc.EndDateTime != nil {
			end, err := time.Parse(time.RFC3339, *pc.EndDateTime)
			if err != nil || !end.After(a.now()) {
				writeError(w, r, http.StatusBadRequest, codeBadRequest,
					"passwordCredential.endDateTime must be a future RFC 3339 time, for example 2027-06-30T00:00:00Z.")
				return
			}
			lifetime = end.Sub(a.now())
		}
	}
	cur, ok := a.tenantApp(w, r, p)
	if !ok {
		return
	}
	secret, cs, err := a.dir.AddAppSecret(r.Context(), p.tenantID, cur.ClientID, lifetime)
	if !a.appWritten(w, r, cur.ClientID, err) {
		return
	}
	a.audit(r, p, auditEntry{category: "ApplicationManagement", activity: "Update application – Certificates and secrets management",
		operation: "Update", targets: []auditTarget{{ID: cur.ClientID, DisplayName: cur.DisplayName, Type: "Application"}},
		modified: []modifiedProperty{{DisplayName: "KeyDescription", NewValue: "[KeyIdentifier=" + cs.ID + ",KeyType=Password,KeyUsage=Verify]"}}})
	out := passwordCredential{KeyID: cs.ID, Hint: cs.Hint, StartDateTime: graphTime(cs.CreatedAt),
		EndDateTime: optionalTime(cs.ExpiresAt), SecretText: &secret}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, struct {
		Context string `json:"@odata.context"`
		passwordCredential
	}{a.odataContext("microsoft.graph.passwordCredential"), out})
}

// removeAppPassword is Graph's POST /applications/{id}/removePassword.
func (a *API) removeAppPassword(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		KeyID string `json:"keyId"`
	}
	if !decodeStrict(w, r, &req) {
		return
	}
	if req.KeyID == "" {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "keyId is required.")
		return
	}
	cur, ok := a.tenantApp(w, r, p)
	if !ok {
		return
	}
	cs, err := a.dir.RemoveAppSecret(r.Context(), p.tenantID, cur.ClientID, req.KeyID)
	if !a.appWritten(w, r, cur.ClientID, err) {
		return
	}
	a.audit(r, p, auditEntry{category: "ApplicationManagement", activity: "Update application – Certificates and secrets management",
		operation: "Update", targets: []auditTarget{{ID: cur.ClientID, DisplayName: cur.DisplayName, Type: "Application"}},
		modified: []modifiedProperty{{DisplayName: "KeyDescription", OldValue: "[KeyIdentifier=" + cs.ID + ",KeyType=Password,KeyUsage=Verify]"}}})
	w.WriteHeader(http.StatusNoContent)
}

// tenantApp loads the app named in the path, answering 404 for apps of
// other tenants as for missing ones.
func (a *API) tenantApp(w http.ResponseWriter, r *http.Request, p *principal) (store.App, bool) {
	id := r.PathValue("id")
	app, err := a.store.GetApp(r.Context(), strings.ToLower(id))
	if errors.Is(err, store.ErrNotFound) || err == nil && app.TenantID != p.tenantID {
		writeError(w, r, http.StatusNotFound, codeNotFound, "Resource '"+id+"' does not exist.")
		return app, false
	}
	if err != nil {
		a.internal(w, r, err)
		return app, false
	}
	return app, true
}

// appWritten answers a failed app change, or tells the token endpoint's
// cache about a successful one, and reports whether it succeeded.
func (a *API) appWritten(w http.ResponseWriter, r *http.Request, clientID string, err error) bool {
	switch {
	case err == nil:
		if a.appChanged != nil {
			a.appChanged(clientID)
		}
		return true
	case errors.Is(err, directory.ErrInvalid):
		writeError(w, r, http.StatusBadRequest, codeBadRequest, strings.TrimPrefix(err.Error(), directory.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		writeError(w, r, http.StatusNotFound, codeNotFound, "Resource '"+r.PathValue("id")+"' does not exist.")
	default:
		a.internal(w, r, err)
	}
	return false
}
